"""The signed gateway client against the simulators, including every failure mode: timeout, 5xx,
rate limiting, malformed answers, forged answers, refused credentials, stale and replayed
requests."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from idp.verification import gateway as gw
from idp.verification.checks import (
    BankCheck,
    CarrierCheck,
    Outcome,
    RegistryCheck,
    Subject,
)
from idp.verification.gateway import Gateway, GatewayUnavailable

from .conftest import CANCELLED, DECEASED, ZHANG, ZHAO


def gateway(sim, *, timeout=0.5, retries=1, key=None, secret=None) -> Gateway:
    return Gateway(sim.name, sim.url, key or sim.app_key, secret or sim.app_secret,
                   timeout=timeout, retries=retries)


def subject(person, name=None) -> Subject:
    return Subject(name or person["name"], person["number"], "cn_resident_id")


@pytest.mark.parametrize(("person", "name", "outcome"), [
    (ZHANG, None, Outcome.MATCH),
    (ZHANG, "张叁", Outcome.NO_MATCH),
    ({"number": "110105199003070025"}, "张三", Outcome.NO_RECORD),
    (CANCELLED, None, Outcome.CANCELLED),
    (DECEASED, None, Outcome.DECEASED),
])
def test_registry_answers(sims, person, name, outcome):
    result = RegistryCheck(gateway(sims["registry"])).run(subject(person, name))
    assert result.outcome is outcome
    assert result.method == "registry_2f" and result.checker == "registry"
    assert result.reference  # the gateway's request id, kept as evidence


def test_carrier_and_bank_answers(sims):
    carrier = CarrierCheck(gateway(sims["carrier"]))
    assert carrier.run(subject(ZHANG), mobile=ZHANG["mobile"]).passed
    assert carrier.run(subject(ZHANG), mobile=ZHAO["mobile"]).outcome is Outcome.NO_MATCH
    assert carrier.run(subject(ZHAO), mobile=ZHAO["suspended_mobile"]).outcome \
        is Outcome.REJECTED
    bank = BankCheck(gateway(sims["bank"]))
    assert bank.run(subject(ZHANG), card_number=ZHANG["card"], mobile=ZHANG["mobile"]).passed
    assert bank.run(subject(ZHANG), card_number=ZHANG["card"],
                    mobile="13900000000").outcome is Outcome.NO_MATCH


def unavailable(sim, **kwargs) -> str:
    with pytest.raises(GatewayUnavailable) as caught:
        RegistryCheck(gateway(sim, **kwargs)).run(subject(ZHANG))
    return caught.value.reason


def test_timeout_is_bounded(sims):
    sims["registry"].admin(latency_ms=2000)
    started = time.monotonic()
    assert unavailable(sims["registry"], timeout=0.3, retries=1) == "timeout"
    assert time.monotonic() - started < 1.5  # two attempts of 0.3 s, not the gateway's 2 s


def test_outage_is_unavailable_after_bounded_retries(sims):
    sim = sims["registry"]
    served = sim.admin()["served"]
    sim.admin(mode="down")
    assert unavailable(sim, retries=2) == "http_503"
    assert sim.admin()["served"] - served == 3  # one attempt and two retries, no more


def test_a_passing_503_is_retried(sims):
    sims["registry"].admin(fail_next=1)
    assert RegistryCheck(gateway(sims["registry"], retries=1)).run(subject(ZHANG)).passed


def test_no_retry_when_retries_are_off(sims):
    sims["registry"].admin(fail_next=1)
    assert unavailable(sims["registry"], retries=0) == "http_503"


def test_rate_limited(sims):
    sims["registry"].admin(mode="rate_limited")
    assert unavailable(sims["registry"]) == "rate_limited"


def test_rate_limit_by_volume(sims):
    sims["registry"].admin(rate_limit=2)
    check = RegistryCheck(gateway(sims["registry"]))
    check.run(subject(ZHANG))
    check.run(subject(ZHANG))
    with pytest.raises(GatewayUnavailable) as caught:
        check.run(subject(ZHANG))
    assert caught.value.reason == "rate_limited"


def test_malformed_answer(sims):
    sims["registry"].admin(mode="malformed")
    assert unavailable(sims["registry"]) == "malformed"


def test_forged_answer_signature(sims):
    sims["registry"].admin(mode="bad_signature")
    assert unavailable(sims["registry"]) == "bad_signature"


def test_wrong_app_key_is_refused_by_the_gateway(sims):
    assert unavailable(sims["registry"], key="someone-else") == "credentials_rejected"


def test_wrong_secret_gets_no_usable_answer(sims):
    # The gateway refuses our signature, and its answer (signed with the real secret) does not
    # verify with ours either.
    assert unavailable(sims["registry"], secret="not-the-secret") == "bad_signature"


def test_connection_refused(sims):
    dead = Gateway("registry", "http://127.0.0.1:9", "k", "s", timeout=0.3, retries=1)
    with pytest.raises(GatewayUnavailable) as caught:
        RegistryCheck(dead).run(subject(ZHANG))
    assert caught.value.reason == "connection"


def test_not_configured():
    from idp.settings import Settings

    with pytest.raises(GatewayUnavailable) as caught:
        gw.from_settings(Settings(), "registry")
    assert caught.value.reason == "not_configured"


# --- the simulator's side of the signature --------------------------------------------------------

def raw_call(sim, *, timestamp: int, nonce: str, body=b'{"name":"x","id_number":"y"}'):
    client = gateway(sim)
    headers = client.signed_headers("/v1/registry/verify", body, timestamp, nonce)
    return requests.post(sim.url + "/v1/registry/verify", data=body, headers=headers, timeout=5)


def test_gateway_rejects_stale_timestamps(sims):
    response = raw_call(sims["registry"], timestamp=int(time.time()) - 3600,
                        nonce="n" * 20)
    assert response.status_code == 401 and response.json()["code"] == "4011"


def test_gateway_rejects_replayed_nonces(sims):
    now = int(time.time())
    nonce = hashlib.sha256(str(time.time()).encode()).hexdigest()[:32]
    assert raw_call(sims["registry"], timestamp=now, nonce=nonce).json()["code"] == "1002"
    replay = raw_call(sims["registry"], timestamp=now, nonce=nonce)
    assert replay.status_code == 401 and replay.json()["code"] == "4012"


def test_gateway_rejects_a_tampered_body(sims):
    sim = sims["registry"]
    body = b'{"name":"x","id_number":"y"}'
    headers = gateway(sim).signed_headers("/v1/registry/verify", body, int(time.time()),
                                          "t" * 24)
    response = requests.post(sim.url + "/v1/registry/verify", data=body.replace(b"x", b"z"),
                             headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["code"] == "4010"
