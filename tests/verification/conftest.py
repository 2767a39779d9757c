"""The four simulated gateways, started once per test process as separate processes on free
loopback ports, reset to normal before every test; the app is pointed at them with short
timeouts."""

from __future__ import annotations

import pytest

from ..helpers import csrf_token


@pytest.fixture(scope="session")
def simulators():
    from simulators.launch import start_all

    running = start_all()
    yield running
    for sim in running.values():
        sim.stop()


@pytest.fixture
def sims(simulators):
    for sim in simulators.values():
        sim.admin(mode="normal", latency_ms=0, fail_next=0, rate_limit=50)
    return simulators


@pytest.fixture
def settings_overrides(sims):
    values = {"gateway_timeout_ms": 500, "gateway_retries": 1}
    for sim in sims.values():
        values.update(sim.settings())
    return values


# People seeded in simulators/data/*.json
ZHANG = {"name": "张三", "number": "110105199003070017", "mobile": "13800138000",
         "card": "6222020200112233446"}
AYGUL = {"name": "阿依古丽·买买提", "number": "650102198805120022"}
CANCELLED = {"name": "李四", "number": "440305197511030036"}
DECEASED = {"name": "王五", "number": "320102194001010042"}
SPOOF = {"name": "约翰·史密斯", "number": "911840197904150063"}  # face liveness fails
ZHAO = {"name": "赵六", "number": "31011519920229008X", "mobile": "13600136000",
        "card": "6217000010001234569", "suspended_mobile": "13600136001"}


def verify_form(http, person: dict, *, doc_type="cn_resident_id", level=1, next_path="/",
                client=None):
    """Submit the identity step as the browser would."""
    page = http.get("/verify", query_string={"level": level, "next": next_path, "renew": 1,
                                             **({"client": client} if client else {})})
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "level": level,
            "next": next_path, "doc_type": doc_type, "name": person["name"],
            "number": person["number"]}
    if client:
        data["client"] = client
    return http.post("/verify/identity", data=data)


def problem(response) -> str:
    """The stable code of the problem a verification page shows (its text is translated)."""
    import re

    match = re.search(r'data-problem="([a-z_0-9]*)"', response.get_data(as_text=True))
    assert match, "no problem shown on the page"
    return match.group(1)
