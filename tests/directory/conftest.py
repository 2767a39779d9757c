"""Directory fixtures: one real slapd for the whole session (started once, stopped by PID), a
replica started per test that needs one, the TONGBAN_DIRECTORIES file pointing at them, and an
app whose directories are in-memory fakes for the flow tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import slapd as S


@pytest.fixture(scope="session")
def ldap_workdir(tmp_path_factory) -> Path:
    if not shutil.which("slapd") and not Path("/usr/sbin/slapd").exists():
        pytest.fail("OpenLDAP slapd is required (make test installs Debian's slapd and "
                    "ldap-utils)")
    return tmp_path_factory.mktemp("slapd")


@pytest.fixture(scope="session")
def ldap_pki(ldap_workdir) -> S.TestPKI:
    return S.make_pki(ldap_workdir)


@pytest.fixture(scope="session")
def ldap_data(ldap_workdir) -> dict[str, Path]:
    return S.write_data(ldap_workdir / "data")


@pytest.fixture(scope="session")
def slapd(ldap_workdir, ldap_pki, ldap_data):
    server = S.build(ldap_workdir, ldap_pki, ldap_data, "primary")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slapd_replica(ldap_workdir, ldap_pki, ldap_data, request):
    """A second server with the same entries (same stable ids), on ports of its own."""
    server = S.build(ldap_workdir, ldap_pki, ldap_data, f"replica-{request.node.name[:40]}")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def service_password_file(ldap_workdir) -> Path:
    path = ldap_workdir / "service-password"
    path.write_text(S.SERVICE_PASSWORD)
    path.chmod(0o600)
    return path


@pytest.fixture
def directories_file(tmp_path, slapd, ldap_pki, service_password_file) -> Path:
    path = tmp_path / "directories.toml"
    path.write_text(S.directories_toml(slapd, ldap_pki, service_password_file))
    return path
