"""Population registry two-factor check (姓名 + 公民身份号码 一致性核验).

``POST /v1/registry/verify`` with ``{"name", "id_number"}``: 0000 the name and number belong
together, 1001 they do not, 1002 no such number, 1003 the number was cancelled, 1004 the holder
is deceased. Run: ``python -m simulators.registry [--seed FILE] [--port N] ...``.
"""

from __future__ import annotations

from typing import ClassVar

from .common import Reply, Simulator, main


def lookup(records: dict, body: dict) -> dict:
    """The record for the body's number after the registry's own status checks."""
    name, number = body.get("name"), body.get("id_number")
    if not isinstance(name, str) or not isinstance(number, str) or not name or not number:
        raise Reply("4001", "name and id_number are required")
    record = records.get(number.strip().upper())
    if record is None:
        raise Reply("1002", "no record for this number")
    if record.get("status") == "cancelled":
        raise Reply("1003", "number cancelled")
    if record.get("status") == "deceased":
        raise Reply("1004", "holder deceased")
    if record["name"] != name:
        raise Reply("1001", "name and number are inconsistent")
    return record


class Registry(Simulator):
    name = "registry"

    def __init__(self, records: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.records = {r["id_number"].upper(): r for r in records}

    def verify(self, body: dict) -> dict:
        lookup(self.records, body)
        return {"result": "consistent"}

    routes: ClassVar[dict] = {"/v1/registry/verify": verify}


if __name__ == "__main__":
    main(Registry, "registry.json")
