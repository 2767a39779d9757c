"""TONGBAN_DIRECTORIES: read once, validated, failing closed with a message that names the
directory and the key to fix; DN comparison rules."""

from __future__ import annotations

import json

import pytest

from idp.directory import dn
from idp.directory.config import load
from idp.settings import ConfigError

GOOD = {
    "id": "finance", "name": "市财政局", "urls": ["ldaps://ldap.finance.example"],
    "tls": "ldaps", "bind_dn": "cn=svc,dc=finance", "bind_password_env": "FIN_PW",
    "user_base": "ou=people,dc=finance", "user_filter": "(objectClass=inetOrgPerson)",
    "groups": {"base": "ou=groups,dc=finance"},
    "roles": {"CN=Approvers, OU=Groups,DC=finance": ["finance_approver"]},
}
ENV = {"FIN_PW": "service-secret"}


def write(tmp_path, *directories, suffix=".json"):
    path = tmp_path / f"directories{suffix}"
    path.write_text(json.dumps({"directories": list(directories)}))
    return path


def test_a_good_file(tmp_path):
    (config,) = load(write(tmp_path, GOOD), environ=ENV)
    assert config.bind_password == "service-secret"
    assert "service-secret" not in repr(config)          # never in a log line
    assert config.attributes.login == "uid" and config.attributes.id == "entryUUID"
    assert config.roles_for(["cn=approvers,ou=groups,dc=finance"]) == ["finance_approver"]


def test_ad_defaults(tmp_path):
    (config,) = load(write(tmp_path, {**GOOD, "kind": "ad"}), environ=ENV)
    assert (config.attributes.login, config.attributes.id, config.attributes.changed) == (
        "sAMAccountName", "objectGUID", "uSNChanged")


def test_toml(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[[directories]]\nid = "tax"\nurls = ["ldap://x"]\n'
                    'user_base = "ou=staff,dc=tax"\n')
    (config,) = load(path)
    assert config.tls == "starttls" and config.name == "tax"


@pytest.mark.parametrize(("change", "message"), [
    ({"tls": "none", "urls": ["ldap://x"]}, "allow_plaintext"),
    ({"tls": "starttls"}, "needs ldap:// URLs"),
    ({"tls": "ldaps", "urls": ["ldap://x"]}, "needs ldaps:// URLs"),
    ({"tls": "sometimes"}, "tls must be one of"),
    ({"urls": []}, "at least one server URL"),
    ({"bind_password": "inline"}, "never in the configuration file"),
    ({"bind_password_env": "MISSING"}, "MISSING is empty"),
    ({"user_base": "people"}, "user_base must be a DN"),
    ({"user_filter": "objectClass=person"}, "one parenthesised LDAP filter"),
    ({"user_filter": "(a=b))(c=d"}, "one parenthesised LDAP filter"),
    ({"id": "Finance Bureau"}, "id must be"),
    ({"kind": "novell"}, "kind must be one of"),
    ({"attributes": {"login": "uid)(x"}}, "not an attribute name"),
    ({"attributes": {"colour": "x"}}, "unknown attributes keys"),
    ({"roles": {"not a dn": ["x"]}}, "group DN mapped to role names"),
    ({"roles": {"cn=a,dc=b": ["bad role"]}}, "group DN mapped to role names"),
    ({"groups": {}}, "roles need groups.base"),
    ({"receive_timeout": 0}, "timeouts must be positive"),
    ({"ca_file": "/nonexistent/ca.pem"}, "does not exist"),
])
def test_bad_files_stop_the_start(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, {**GOOD, **change}), environ=ENV)
    assert message in str(caught.value)
    assert "service-secret" not in str(caught.value)


def test_plain_ldap_needs_saying_and_never_in_production(tmp_path):
    plain = {**GOOD, "tls": "none", "urls": ["ldap://x"], "allow_plaintext": True}
    assert load(write(tmp_path, plain), environ=ENV)[0].tls == "none"
    with pytest.raises(ConfigError, match="refused in production"):
        load(write(tmp_path, plain), environ=ENV, production=True)


def test_names_are_unique(tmp_path):
    other = {**GOOD, "id": "tax", "aliases": ["FINANCE"]}
    with pytest.raises(ConfigError, match="also names directory 'finance'"):
        load(write(tmp_path, GOOD, other), environ=ENV)


def test_unreadable_or_malformed(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[directories]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)


def test_the_app_refuses_to_start_with_a_bad_file(tmp_path, migrated, keys_dir):
    from idp import create_app

    from ..conftest import _settings

    path = write(tmp_path, {**GOOD, "tls": "none", "urls": ["ldap://x"]})
    with pytest.raises(ConfigError, match="allow_plaintext"):
        create_app(_settings(migrated, keys_dir, tmp_path, directories=str(path)))


@pytest.mark.parametrize(("a", "b"), [
    ("CN=Zhao\\, Min,OU=People,DC=x", "cn=zhao\\2c min,ou=people,dc=x"),
    ("uid=a+cn=b,dc=x", "cn=B+uid=A,DC=X"),
    ("ou=People, dc=x", "ou=people,dc=x"),
])
def test_dns_compare_as_the_directory_does(a, b):
    assert dn.normalise(a) == dn.normalise(b)


@pytest.mark.parametrize(("entry", "inside"), [
    ("uid=a,ou=people,dc=x", True),
    ("uid=a,ou=sub,ou=people,dc=x", True),
    ("ou=people,dc=x", False),                     # the base itself is not an entry below it
    ("uid=a,ou=peoplex,dc=x", False),
    ("uid=a,ou=people,dc=x,dc=evil", False),
    ("uid=a\\,ou=people,dc=x", False),             # an escaped comma is not a separator
    ("cn=x,ou=people\\,dc=x,dc=y", False),
    ("not a dn", False), ("", False), ("uid=a\x00,ou=people,dc=x", False),
])
def test_entries_outside_the_base_are_outside(entry, inside):
    assert dn.is_below(entry, "ou=people,dc=x") is inside
