"""The outside checks behind one interface: each adapter takes the subject (name, number) and the
factors its check needs, asks its gateway, and returns a :class:`CheckResult`, or raises
:class:`~.gateway.GatewayUnavailable` when there is no usable answer.

| adapter       | gateway  | factors                    | level it supports |
|---------------|----------|----------------------------|-------------------|
| RegistryCheck | registry | name + number              | L1                |
| CarrierCheck  | carrier  | + mobile number            | L2 (with L1)      |
| BankCheck     | bank     | + card number + mobile     | L2 (with L1)      |
| FaceCheck     | face     | + a liveness capture       | L3 (with L1)      |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .gateway import Gateway, GatewayUnavailable


class Outcome(enum.StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NO_RECORD = "no_record"
    CANCELLED = "cancelled"
    DECEASED = "deceased"
    #: a definite "no" for another reason: line not in service, card unusable, liveness failed
    REJECTED = "rejected"


#: the gateways' answer codes (simulators/common.py lists them)
CODES = {"0000": Outcome.MATCH, "1001": Outcome.NO_MATCH, "1002": Outcome.NO_RECORD,
         "1003": Outcome.CANCELLED, "1004": Outcome.DECEASED, "1005": Outcome.REJECTED,
         "1006": Outcome.REJECTED, "1007": Outcome.REJECTED}


@dataclass(frozen=True)
class Subject:
    name: str
    number: str
    doc_type: str


@dataclass(frozen=True)
class CheckResult:
    method: str
    outcome: Outcome
    checker: str
    reference: str | None
    level: int
    detail: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.MATCH


class GatewayCheck:
    """One gateway call whose answer code is the outcome."""

    method = ""
    path = ""
    #: the level a match supports
    level = 0

    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    def payload(self, subject: Subject, **factors) -> dict:
        return {"name": subject.name, "id_number": subject.number, "id_type": subject.doc_type}

    def run(self, subject: Subject, **factors) -> CheckResult:
        answer = self.gateway.call(self.path, self.payload(subject, **factors))
        outcome = CODES.get(answer.code)
        if outcome is None:
            raise GatewayUnavailable(self.gateway.name, f"unexpected_code_{answer.code}")
        return self.result(outcome, answer.request_id, answer.data)

    def result(self, outcome: Outcome, reference: str, detail: dict) -> CheckResult:
        return CheckResult(self.method, outcome, self.gateway.name, reference or None,
                           self.level, detail)


class RegistryCheck(GatewayCheck):
    method, path, level = "registry_2f", "/v1/registry/verify", 1


class CarrierCheck(GatewayCheck):
    method, path, level = "carrier_3f", "/v1/carrier/verify", 2

    def payload(self, subject: Subject, *, mobile: str) -> dict:
        return {**super().payload(subject), "mobile": mobile}


class BankCheck(GatewayCheck):
    method, path, level = "bank_4f", "/v1/bank/verify", 2

    def payload(self, subject: Subject, *, card_number: str, mobile: str) -> dict:
        return {**super().payload(subject), "card_number": card_number, "mobile": mobile}


class FaceCheck(GatewayCheck):
    """Two steps: :meth:`start` gets a capture page for the person's browser; :meth:`run` (after
    the browser came back) asks for the result of that capture."""

    method, path, level = "face_liveness", "/v1/face/certify/query", 3

    def start(self, subject: Subject, return_url: str) -> tuple[str, str]:
        answer = self.gateway.call("/v1/face/certify/init",
                                   {**super().payload(subject), "return_url": return_url})
        outcome = CODES.get(answer.code)
        if outcome is None:
            raise GatewayUnavailable(self.gateway.name, f"unexpected_code_{answer.code}")
        if outcome is not Outcome.MATCH:
            raise FaceRefused(self.result(outcome, answer.request_id, {}))
        certify_id, capture_url = answer.data.get("certify_id"), answer.data.get("capture_url")
        if not isinstance(certify_id, str) or not isinstance(capture_url, str) \
                or not capture_url.startswith(("https://", "http://")):
            raise GatewayUnavailable(self.gateway.name, "malformed")
        return certify_id, capture_url

    def payload(self, subject: Subject, *, certify_id: str) -> dict:
        return {"certify_id": certify_id}

    def run(self, subject: Subject, **factors) -> CheckResult:
        answer = self.gateway.call(self.path, self.payload(subject, **factors))
        if answer.code != "0000":
            outcome = CODES.get(answer.code)
            if outcome is None:
                raise GatewayUnavailable(self.gateway.name, f"unexpected_code_{answer.code}")
            return self.result(outcome, answer.request_id, {})
        status = answer.data.get("status")
        if status == "pending":
            raise FacePending()
        if status not in ("passed", "failed"):
            raise GatewayUnavailable(self.gateway.name, "malformed")
        detail = {"liveness": bool(answer.data.get("liveness")),
                  "similarity": answer.data.get("similarity")}
        outcome = Outcome.MATCH if status == "passed" else Outcome.REJECTED
        return self.result(outcome, factors["certify_id"], detail)


class FaceRefused(Exception):
    """The face service will not start a check for this subject (no portrait, cancelled, ...)."""

    def __init__(self, result: CheckResult):
        super().__init__(result.outcome)
        self.result = result


class FacePending(Exception):
    """The person has not finished the capture."""


ADAPTERS = {"registry": RegistryCheck, "carrier": CarrierCheck, "bank": BankCheck,
            "face": FaceCheck}
