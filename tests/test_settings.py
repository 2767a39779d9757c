"""Settings fail closed: production refuses default secrets, http issuers and missing signing
keys, and the WSGI entry point reports that in one paragraph (exit 78, EX_CONFIG), never with a
traceback."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp import create_app
from idp.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 48
DATA_KEY = base64.b64encode(bytes(range(32))).decode()
GOOD = dict(env="production", issuer="https://idp.example", secret_key=SECRET,
            data_key=DATA_KEY, database_url="sqlite:///:memory:")


def settings(**changes) -> Settings:
    return Settings(**{**GOOD, **changes})


def test_good_production_settings_validate():
    settings().validate()


@pytest.mark.parametrize("changes, message", [
    ({"secret_key": ""}, "TONGBAN_SECRET_KEY must be set to at least 32"),
    ({"secret_key": "x" * 31}, "TONGBAN_SECRET_KEY must be set to at least 32"),
    ({"data_key": ""}, "TONGBAN_DATA_KEY must be 32 random bytes"),
    ({"data_key": base64.b64encode(bytes(16)).decode()}, "TONGBAN_DATA_KEY must be 32"),
    ({"issuer": "http://idp.example"}, "TONGBAN_ISSUER must use https in production"),
    ({"issuer": "https://idp.example/"}, "TONGBAN_ISSUER must not end with '/'"),
    ({"issuer": "https://idp.example/tongban/"}, "TONGBAN_ISSUER must not end with '/'"),
    ({"issuer": "https://idp.example?x=1"}, "must not contain a query or fragment"),
    ({"issuer": "idp.example"}, "TONGBAN_ISSUER must be an absolute URL"),
    ({"env": "prod"}, "TONGBAN_ENV must be one of"),
    ({"code_ttl": 61}, "TONGBAN_CODE_TTL must be between 1 and 60"),
    ({"refresh_reuse_grace": -1}, "TONGBAN_REFRESH_REUSE_GRACE"),
    ({"session_idle_ttl": 10, "session_absolute_ttl": 5}, "TONGBAN_SESSION_IDLE_TTL"),
])
def test_production_refuses(changes, message):
    with pytest.raises(ConfigError, match="Tongban cannot start") as info:
        settings(**changes).validate()
    assert message in str(info.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        settings(secret_key="", issuer="http://idp.example/").validate()
    lines = str(info.value).splitlines()
    assert lines[0] == "Tongban cannot start:"
    assert len(lines) == 4
    for message in ("must not end with '/'", "must use https", "TONGBAN_SECRET_KEY"):
        assert sum(message in line for line in lines[1:]) == 1


def test_production_never_gets_a_generated_secret():
    assert settings(secret_key="").completed().secret_key == ""
    assert Settings(env="test").completed().secret_key  # outside production: random per start


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:5000", "http://localhost:8080"])
def test_http_issuer_is_allowed_outside_production(issuer):
    Settings(env="development", issuer=issuer).completed().validate()


def test_production_without_keys_refuses_naming_keys_init(tmp_path):
    with pytest.raises(ConfigError) as info:
        create_app(settings(keys_dir=tmp_path / "keys", instance_dir=tmp_path,
                            generate_keys=False))
    text = str(info.value)
    assert "flask --app wsgi keys init" in text
    assert "RS256" in text and "ES256" in text
    assert not (tmp_path / "keys").exists()  # nothing generated implicitly


def test_from_env_defaults_to_no_key_generation_in_production(monkeypatch):
    monkeypatch.setenv("TONGBAN_ENV", "production")
    monkeypatch.delenv("TONGBAN_GENERATE_KEYS", raising=False)
    assert Settings.from_env().generate_keys is False
    monkeypatch.setenv("TONGBAN_ENV", "development")
    assert Settings.from_env().generate_keys is True


def test_from_env_rejects_non_numbers(monkeypatch):
    monkeypatch.setenv("TONGBAN_CODE_TTL", "sixty")
    with pytest.raises(ConfigError, match="TONGBAN_CODE_TTL must be a whole number"):
        Settings.from_env()


# --- the WSGI entry point ------------------------------------------------------------------------

def run_wsgi(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    clean.update(TONGBAN_ENV="production", TONGBAN_INSTANCE_DIR=str(tmp_path / "instance"),
                 TONGBAN_KEYS_DIR=str(tmp_path / "keys"), TONGBAN_DATA_KEY=DATA_KEY)
    clean.update(env)
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, expected", [
    ({"TONGBAN_ISSUER": "https://idp.example"}, "TONGBAN_SECRET_KEY"),
    ({"TONGBAN_ISSUER": "http://idp.example", "TONGBAN_SECRET_KEY": SECRET},
     "must use https in production"),
    ({"TONGBAN_ISSUER": "https://idp.example", "TONGBAN_SECRET_KEY": SECRET}, "keys init"),
    ({"TONGBAN_ISSUER": "https://idp.example", "TONGBAN_SECRET_KEY": SECRET,
      "TONGBAN_ACCESS_TOKEN_TTL": "ten minutes"}, "TONGBAN_ACCESS_TOKEN_TTL"),
])
def test_wsgi_exits_78_with_one_paragraph(tmp_path, env, expected):
    result = run_wsgi(tmp_path, **env)
    assert result.returncode == 78, result.stderr
    message = result.stderr.strip()
    assert expected in message
    assert "Traceback" not in result.stderr
    # One paragraph: the message and nothing else (no log noise, no blank lines).
    assert "\n\n" not in message
    assert " INFO " not in message and " WARNING " not in message
    assert result.stdout == ""
