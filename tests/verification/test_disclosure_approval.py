"""Which clients may ask for the full legal name and document number: the operator's flag and a
developer registration approved with those sensitive claims lead to the same place."""

from idp.models import Client


def test_operator_flag_or_approved_sensitive_claims():
    assert not Client(full_identity_approved=False, sensitive_claims=[]).may_receive_full_identity
    assert Client(full_identity_approved=True, sensitive_claims=None).may_receive_full_identity
    assert Client(full_identity_approved=False,
                  sensitive_claims=["id_number"]).may_receive_full_identity
    assert not Client(full_identity_approved=False,
                      sensitive_claims=["something_else"]).may_receive_full_identity
