"""Channel tests run the IdP in-process against the platform simulators on loopback."""

import pytest

from ..platform_fixtures import platform_simulators  # noqa: F401 (fixture)


@pytest.fixture
def settings_overrides(request, platform_simulators):  # noqa: F811
    return {**platform_simulators.settings(), **getattr(request, "param", {})}
