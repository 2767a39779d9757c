"""Bank card four-factor check (银行卡四要素: 姓名 + 身份证号 + 卡号 + 预留手机号).

``POST /v1/bank/verify`` with ``{"name", "id_number", "card_number", "mobile"}``: 0000 all four
match the card's account, 1001 they do not, 1002 unknown card, 1006 card cannot be used (closed,
frozen).
"""

from __future__ import annotations

from typing import ClassVar

from .common import Reply, Simulator, main


class Bank(Simulator):
    name = "bank"

    def __init__(self, records: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.records = {r["card_number"]: r for r in records}

    def verify(self, body: dict) -> dict:
        fields = [body.get(k) for k in ("name", "id_number", "card_number", "mobile")]
        if not all(isinstance(v, str) and v for v in fields):
            raise Reply("4001", "name, id_number, card_number and mobile are required")
        name, number, card, mobile = fields
        record = self.records.get(card)
        if record is None:
            raise Reply("1002", "no such card")
        if record.get("status") in ("closed", "frozen"):
            raise Reply("1006", "card cannot be used")
        if (record["name"], record["id_number"].upper(), record["mobile"]) != (
                name, number.upper(), mobile):
            raise Reply("1001", "inconsistent")
        return {"result": "consistent", "bank": record.get("bank", "")}

    routes: ClassVar[dict] = {"/v1/bank/verify": verify}


if __name__ == "__main__":
    main(Bank, "bank.json")
