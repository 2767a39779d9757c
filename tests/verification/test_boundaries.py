"""DESIGN §7: verification knows nothing of OAuth. The login flow sends people to it with plain
parameters (level, next), never the other way round."""

from pathlib import Path

import idp.verification


def test_verification_imports_no_protocol_code():
    package = Path(idp.verification.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        for forbidden in ("from ..oidc", "import idp.oidc", "from idp.oidc", "authlib"):
            assert forbidden not in text, f"{source.name} uses {forbidden}"
