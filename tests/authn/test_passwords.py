"""Password hashing (argon2id) and the password policy (NIST SP 800-63B §5.1.1.2)."""

import unicodedata

import pytest

from idp.authn import passwords


def test_hashes_are_argon2id_and_salted():
    first = passwords.hash_password("a long enough passphrase")
    second = passwords.hash_password("a long enough passphrase")
    assert first.startswith("$argon2id$")
    assert first != second
    assert passwords.verify_password(first, "a long enough passphrase")
    assert passwords.verify_password(second, "a long enough passphrase")
    assert not passwords.needs_rehash(first)


def test_verify_refuses_a_wrong_password():
    stored = passwords.hash_password("something else entirely")
    assert passwords.verify_password(stored, "a long enough passphrase") is False
    assert passwords.verify_password(stored, "something else entirely ") is False


@pytest.mark.parametrize("stored", [None, "", "not-an-argon2-hash", "$argon2id$v=19$broken"])
def test_verify_refuses_without_a_usable_hash(stored):
    # The dummy hash's own password must not log anyone in to an account without a hash.
    assert passwords.verify_password(stored, "tongban-timing-equaliser") is False
    assert passwords.verify_password(stored, "anything at all") is False


def test_verify_runs_argon2_even_without_a_hash(monkeypatch):
    calls = []
    real = passwords._hasher

    class Spy:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, hash_, password):
            calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    assert passwords.verify_password(None, "tongban-timing-equaliser") is False
    assert calls and calls[0].startswith("$argon2id$")


@pytest.mark.parametrize("password, problem", [
    ("", "too_short"),
    ("short", "too_short"),
    ("seven77", "too_short"),
    ("x" * 129, "too_long"),
    ("password1", "too_common"),
    ("qwerty123", "too_common"),
    ("PASSWORD1", "too_common"),
    ("12345678", "too_common"),
    ("iloveyou", "too_common"),
])
def test_policy_refuses(password, problem):
    assert passwords.policy_problem(password) == problem


@pytest.mark.parametrize("password", [
    "eight ch",
    "x" * 128,
    # No composition rules: a long lowercase phrase is exactly what we want people to use.
    "the river runs quietly past the old mill",
    "长城上的风很大很大",
    "Tr0ub4dor&3 but longer",
])
def test_policy_accepts(password):
    assert passwords.policy_problem(password) is None


def test_password_same_as_identifier_is_refused():
    assert passwords.policy_problem("Citizen0042", identifiers=("citizen0042",)) == \
        "same_as_identifier"


def test_common_list_is_large():
    common = passwords._common_passwords()
    assert len(common) >= 10_000
    assert {"password1", "qwerty123", "123456789"} <= common


def test_length_counts_characters_after_normalisation():
    # Full-width letters count as the characters they normalise to, not as bytes.
    assert passwords.policy_problem("ｔｏｎｇｂａｎ ｐａｓｓ") is None
    assert passwords.policy_problem("ａｂｃｄｅｆｇ") == "too_short"
    assert passwords.policy_problem("ａｂｃｄｅｆｇｈ") == "too_common"  # = "abcdefgh"


@pytest.mark.parametrize("typed, stored", [
    ("ｆｕｌｌｗｉｄｔｈ ｐａｓｓ", "fullwidth pass"),        # full-width IME input
    ("cafe\u0301 au lait!", "café au lait!"),            # combining accent vs precomposed
    ("ﬁne ﬁsh soup", "fine fish soup"),                   # ligatures
])
def test_nfkc_normalisation(typed, stored):
    assert unicodedata.normalize("NFKC", typed) == unicodedata.normalize("NFKC", stored)
    assert passwords.verify_password(passwords.hash_password(stored), typed)
    assert passwords.verify_password(passwords.hash_password(typed), stored)


def test_common_check_sees_through_width_and_case():
    assert passwords.policy_problem("ＰＡＳＳＷＯＲＤ１") == "too_common"
