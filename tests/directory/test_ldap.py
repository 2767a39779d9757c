"""The ldap3 implementation against a real OpenLDAP slapd: both department trees, StartTLS and
LDAPS with CA and name checks, locked/disabled/ambiguous entries, injection attempts, blank
passwords, failover, timeouts and outages, incremental change listing."""

from __future__ import annotations

import dataclasses
import time

import pytest

from idp.directory import base
from idp.directory.config import load
from idp.directory.ldap import LdapDirectory

from . import slapd as S


@pytest.fixture
def configs(directories_file):
    finance, tax = load(directories_file)
    return {"finance": finance, "tax": tax}


@pytest.fixture
def finance(configs):
    return LdapDirectory(configs["finance"])


@pytest.fixture
def tax(configs):
    return LdapDirectory(configs["tax"])


def refusal(directory, login, password=S.STAFF_PASSWORD):
    with pytest.raises(base.DirectoryError) as caught:
        directory.authenticate(login, password)
    return type(caught.value), caught.value.reason


# --- logging in ----------------------------------------------------------------------------------

def test_inetorgperson_login_over_starttls(finance, slapd):
    identity = finance.authenticate("zhang.wei", S.STAFF_PASSWORD)
    assert identity.dn == f"uid=zhang.wei,{S.FINANCE_PEOPLE}"
    assert identity.directory == "finance" and identity.login == "zhang.wei"
    assert identity.display_name == "张伟" and identity.employee_number == "F000001"
    assert identity.state == "active"
    assert finance.config.roles_for(identity.groups) == ["finance_approver"]
    # the stable id is the entry's entryUUID
    assert len(identity.external_id) == 36
    assert "STARTTLS" in slapd.log.read_text() or "EXT oid=1.3.6.1.4.1.1466.20037" in \
        slapd.log.read_text()


def test_ad_style_login_over_ldaps(tax):
    identity = tax.authenticate("chen.jing", S.STAFF_PASSWORD)
    assert identity.login == "chen.jing"
    assert identity.id_number == S.CHEN_ID_NUMBER
    assert tax.config.roles_for(identity.groups) == ["tax_inspector", "tax_staff"]
    # objectGUID, formatted as AD shows it
    assert len(identity.external_id) == 36 and identity.external_id.count("-") == 4
    assert tax.authenticate("CHEN.JING", S.STAFF_PASSWORD).external_id == identity.external_id


def test_dn_with_escaped_comma_binds_and_finds_its_groups(finance):
    identity = finance.authenticate("zhao.min", S.STAFF_PASSWORD)
    assert "Min" in identity.dn and identity.display_name == "Zhao, Min"
    assert finance.config.roles_for(identity.groups) == ["finance_approver"]


def test_login_containing_filter_characters_is_matched_literally(finance):
    assert finance.authenticate("a(b)c", S.STAFF_PASSWORD).login == "a(b)c"


@pytest.mark.parametrize(("directory", "login", "expected"), [
    ("finance", "li.na", (base.AccountLocked, "account_locked")),
    ("finance", "wang.fang", (base.AccountDisabled, "account_disabled")),
    ("tax", "wu.locked", (base.AccountLocked, "account_locked")),
    ("tax", "zhou.disabled", (base.AccountDisabled, "account_disabled")),
    ("finance", "dup", (base.BadCredentials, "ambiguous_login")),
    ("finance", "nobody.here", (base.BadCredentials, "unknown_account")),
    # in the directory, but outside the configured user base
    ("finance", "retiree", (base.BadCredentials, "unknown_account")),
])
def test_entries_that_may_not_log_in(request, directory, login, expected, slapd):
    target = request.getfixturevalue(directory)
    before = slapd.binds()
    assert refusal(target, login) == expected
    # only the service account bound: a locked, disabled or ambiguous entry is never tried
    assert slapd.binds() - before == 1


def test_wrong_password(finance, tax):
    assert refusal(finance, "zhang.wei", "not-the-password") == (base.BadCredentials,
                                                                  "bad_password")
    assert refusal(tax, "chen.jing", "not-the-password") == (base.BadCredentials,
                                                             "bad_password")


def test_same_login_outside_the_base_never_authenticates(finance):
    # uid=zhang.wei also exists under ou=retired with another password
    assert refusal(finance, "zhang.wei", "Retired-pass-2026") == (base.BadCredentials,
                                                                  "bad_password")


# --- injection and blank passwords ---------------------------------------------------------------

INJECTIONS = [
    "*", "zhang.we*", "*ang.wei", "zhang.wei)(uid=*", "*)(uid=*", "zhang.wei)(|(uid=*",
    ")(objectClass=*", "zhang.wei\x00", "\x00", "zhang.wei\\", "zhang.wei)", "(zhang.wei",
    f"uid=zhang.wei,{S.FINANCE_PEOPLE}", "uid=zhang.wei", "zhang.wei,ou=people",
    "cn=Zhao\\, Min", "Zhao\\2C Min", "zhang.wei\\2a", "zhang.we\\2a", "zhang.wei*)(&",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_filter_and_dn_payloads_never_widen_or_authenticate(finance, slapd, payload):
    """Every generated entry and zhang.wei share STAFF_PASSWORD: a payload that widened the
    search to exactly one of them would log in."""
    target = f"uid=zhang.wei,{S.FINANCE_PEOPLE}"
    before = slapd.binds(target)
    kind, reason = refusal(finance, payload)
    assert kind is base.BadCredentials
    assert reason in ("unknown_account", "control_character")
    assert slapd.binds(target) == before


@pytest.mark.parametrize("payload", ["*", "chen.j*", "chen.jing)(sAMAccountName=*", "*)(|(cn=*",
                                     "chen.jing\x00"])
def test_ad_payloads_never_widen_or_authenticate(tax, payload):
    assert refusal(tax, payload)[0] is base.BadCredentials


def test_filter_values_are_escaped_per_rfc4515(finance):
    built = finance._login_filter("a*b(c)d\\e\x00")
    assert built == "(&(objectClass=inetOrgPerson)(uid=a\\2ab\\28c\\29d\\5ce\\00))"


@pytest.mark.parametrize("password", ["", " ", "   ", "\t", "\n", " \t\r\n "])
def test_blank_passwords_never_reach_a_bind(finance, tax, slapd, password):
    before = slapd.binds()
    for directory, login in ((finance, "zhang.wei"), (tax, "chen.jing")):
        assert refusal(directory, login, password) == (base.BadCredentials, "empty_password")
    # not even the service account bound: nothing was sent to the server at all
    assert slapd.binds() == before


def test_blank_password_check_does_not_depend_on_the_server(configs):
    # a server that would accept an unauthenticated bind is never asked
    unreachable = dataclasses.replace(configs["finance"], urls=("ldap://127.0.0.1:9",))
    assert refusal(LdapDirectory(unreachable), "zhang.wei", "") == (base.BadCredentials,
                                                                   "empty_password")


# --- TLS -----------------------------------------------------------------------------------------

def test_unknown_ca_is_refused(configs, ldap_pki):
    for config in configs.values():
        other = dataclasses.replace(config, ca_file=str(ldap_pki.other_ca))
        assert refusal(LdapDirectory(other), "zhang.wei")[0] is base.DirectoryUnavailable


def test_certificate_name_must_match(configs, slapd):
    # the certificate names ldap.test and 127.0.0.1, not localhost
    config = dataclasses.replace(configs["tax"],
                                 urls=(f"ldaps://localhost:{slapd.ldaps_port}",))
    with pytest.raises(base.DirectoryUnavailable) as caught:
        LdapDirectory(config).authenticate("chen.jing", S.STAFF_PASSWORD)
    assert "Certificate" in caught.value.detail or "certificate" in caught.value.detail


def test_plain_ldap_only_when_configured(configs, slapd):
    config = dataclasses.replace(configs["finance"], tls="none", allow_plaintext=True)
    assert LdapDirectory(config).authenticate("zhang.wei", S.STAFF_PASSWORD).login == "zhang.wei"


# --- failover, timeouts, outage ------------------------------------------------------------------

def test_failover_to_the_next_server(configs, slapd, slapd_replica):
    config = dataclasses.replace(configs["tax"], urls=(slapd_replica.ldaps_url,
                                                       slapd.ldaps_url))
    directory = LdapDirectory(config)
    first = directory.authenticate("chen.jing", S.STAFF_PASSWORD)
    assert directory.ping()[0] == slapd_replica.ldaps_url
    slapd_replica.stop()
    again = directory.authenticate("chen.jing", S.STAFF_PASSWORD)
    # the same entry (same stable id) from the other server
    assert again.external_id == first.external_id
    assert directory.ping()[0] == slapd.ldaps_url


def test_a_hung_server_times_out_then_fails_over(configs, slapd, slapd_replica):
    config = dataclasses.replace(configs["finance"], receive_timeout=1.0,
                                 urls=(slapd_replica.ldap_url, slapd.ldap_url))
    directory = LdapDirectory(config)
    slapd_replica.pause()
    try:
        started = time.monotonic()
        assert directory.authenticate("zhang.wei", S.STAFF_PASSWORD).login == "zhang.wei"
        took = time.monotonic() - started
        assert 0.9 <= took < 5, took
        # the hung server is now tried last: the next login does not wait for it again
        started = time.monotonic()
        directory.authenticate("zhang.wei", S.STAFF_PASSWORD)
        assert time.monotonic() - started < 0.9
    finally:
        slapd_replica.resume()


def test_outage_is_unavailable_not_bad_credentials(configs, slapd_replica):
    config = dataclasses.replace(configs["tax"], urls=(slapd_replica.ldaps_url,),
                                 receive_timeout=1.0)
    directory = LdapDirectory(config)
    assert directory.authenticate("chen.jing", S.STAFF_PASSWORD).login == "chen.jing"
    slapd_replica.pause()
    started = time.monotonic()
    assert refusal(directory, "chen.jing") == (base.DirectoryUnavailable,
                                               "directory_unavailable")
    assert time.monotonic() - started < 5
    slapd_replica.stop()
    assert refusal(directory, "chen.jing") == (base.DirectoryUnavailable,
                                               "directory_unavailable")


def test_wrong_service_password_is_unavailable(configs):
    config = dataclasses.replace(configs["finance"], bind_password="wrong")
    with pytest.raises(base.DirectoryUnavailable) as caught:
        LdapDirectory(config).authenticate("zhang.wei", S.STAFF_PASSWORD)
    assert "InvalidCredentials" in caught.value.detail
    assert "wrong" not in caught.value.detail


# --- change listing ------------------------------------------------------------------------------

def test_incremental_changes_by_modify_timestamp(finance, slapd):
    everything = finance.changes_since(None)
    assert len(everything.present) >= 3000
    assert len(everything.changed) == len(everything.present)
    members = everything.group_members["cn=approvers,ou=groups,dc=finance,dc=gov,dc=example"]
    assert f"uid=zhang.wei,{S.FINANCE_PEOPLE}" in members
    time.sleep(1.1)  # modifyTimestamp has whole seconds
    slapd.modify(S.FINANCE, f"dn: uid=f000100,{S.FINANCE_PEOPLE}\nchangetype: modify\n"
                            "replace: displayName\ndisplayName: 改名\n")
    later = finance.changes_since(everything.cursor)
    assert [i.login for i in later.changed if i.changed > everything.cursor] == ["f000100"]
    assert later.cursor > everything.cursor
    assert len(later.present) == len(everything.present)


def test_incremental_changes_by_usn(tax, slapd):
    first = tax.changes_since(None)
    assert first.cursor.isdigit()
    dn = f"CN=No Number,{S.TAX_STAFF}"
    slapd.modify(S.TAX, f"dn: {dn}\nchangetype: modify\nreplace: uSNChanged\n"
                        f"uSNChanged: {int(first.cursor) + 5}\n-\nreplace: userAccountControl\n"
                        "userAccountControl: 514\n")
    later = tax.changes_since(str(int(first.cursor) + 1))
    assert [(i.login, i.state) for i in later.changed] == [("no.number", "disabled")]
    slapd.modify(S.TAX, f"dn: {dn}\nchangetype: modify\nreplace: userAccountControl\n"
                        "userAccountControl: 512\n")


def test_an_entry_outside_the_base_is_never_accepted(finance):
    """Defence in depth behind the search scope (aliases, referrals, a misbehaving server):
    whatever DN comes back must lie below the configured user base."""

    class Answer:
        def __init__(self):
            self.response = [{"type": "searchResEntry", "raw_attributes": {},
                              "dn": f"uid=zhang.wei,ou=retired,{S.FINANCE}"}]

        def search(self, *args, **kwargs):
            return True

    with pytest.raises(base.BadCredentials) as caught:
        finance._search_entry(Answer(), "zhang.wei")
    assert caught.value.reason == "outside_base"
