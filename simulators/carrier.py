"""Mobile carrier three-factor check (运营商三要素: 姓名 + 身份证号 + 手机号).

``POST /v1/carrier/verify`` with ``{"name", "id_number", "mobile"}``: 0000 the mobile number is
registered to that person, 1001 it is not, 1002 unknown number, 1005 the line is not in service.
"""

from __future__ import annotations

from typing import ClassVar

from .common import Reply, Simulator, main


class Carrier(Simulator):
    name = "carrier"

    def __init__(self, records: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.records = {r["mobile"]: r for r in records}

    def verify(self, body: dict) -> dict:
        fields = [body.get(k) for k in ("name", "id_number", "mobile")]
        if not all(isinstance(v, str) and v for v in fields):
            raise Reply("4001", "name, id_number and mobile are required")
        name, number, mobile = fields
        record = self.records.get(mobile)
        if record is None:
            raise Reply("1002", "no subscriber with this mobile number")
        if record.get("status") == "suspended":
            raise Reply("1005", "line not in service")
        if record["name"] != name or record["id_number"].upper() != number.upper():
            raise Reply("1001", "inconsistent")
        return {"result": "consistent", "operator": record.get("operator", "cmcc")}

    routes: ClassVar[dict] = {"/v1/carrier/verify": verify}


if __name__ == "__main__":
    main(Carrier, "carrier.json")
