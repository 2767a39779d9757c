"""Gateway settings are validated at start-up; production fails closed."""

import pytest

from idp.settings import ConfigError, Settings


def test_a_gateway_url_needs_its_credentials():
    with pytest.raises(ConfigError) as caught:
        Settings(registry_url="https://registry.example").completed().validate()
    assert "TONGBAN_REGISTRY_APP_KEY and TONGBAN_REGISTRY_APP_SECRET" in str(caught.value)


def test_gateways_use_https_in_production():
    settings = Settings(env="production", issuer="https://id.example", secret_key="s" * 40,
                        data_key="A" * 43 + "=", face_url="http://face.example",
                        face_app_key="k", face_app_secret="s")
    with pytest.raises(ConfigError) as caught:
        settings.completed().validate()
    assert "TONGBAN_FACE_URL must use https in production" in str(caught.value)


@pytest.mark.parametrize(("field", "value", "name"), [
    ("gateway_timeout_ms", 50, "TONGBAN_GATEWAY_TIMEOUT_MS"),
    ("gateway_retries", 4, "TONGBAN_GATEWAY_RETRIES"),
])
def test_bounds(field, value, name):
    with pytest.raises(ConfigError) as caught:
        Settings(**{field: value}).completed().validate()
    assert name in str(caught.value)


def test_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TONGBAN_BANK_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("TONGBAN_BANK_APP_KEY", "key")
    monkeypatch.setenv("TONGBAN_BANK_APP_SECRET", "secret")
    monkeypatch.setenv("TONGBAN_GATEWAY_RETRIES", "2")
    settings = Settings.from_env()
    assert (settings.bank_url, settings.bank_app_key, settings.gateway_retries) == (
        "http://127.0.0.1:9999", "key", 2)
    settings.validate()
