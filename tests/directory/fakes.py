"""In-memory department directories for the flow tests: a TONGBAN_DIRECTORIES file whose
servers are never contacted, and FakeDirectory implementations installed in their place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from idp.directory.base import DirectoryIdentity
from idp.directory.config import load
from idp.directory.fake import FakeDirectory
from idp.directory.registry import Directories

from ..helpers import csrf_token

PASSWORD = "Dept-pass-2026"
ID_NUMBER = "110101199003074514"

CONFIG = """
[[directories]]
id = "finance"
name = "市财政局"
name_en = "Finance Bureau"
aliases = ["fin", "finance.gov.example"]
urls = ["ldap://127.0.0.1:9"]
tls = "none"
allow_plaintext = true
user_base = "ou=people,dc=finance"
[directories.attributes]
employee_number = "employeeNumber"
[directories.groups]
base = "ou=groups,dc=finance"
[directories.roles]
"cn=approvers,ou=groups,dc=finance" = ["finance_approver"]
"cn=auditors,ou=groups,dc=finance" = ["finance_auditor"]

[[directories]]
id = "tax"
name = "市税务局"
name_en = "Tax Bureau"
aliases = ["taxbureau", "tax.gov.example"]
kind = "ad"
urls = ["ldap://127.0.0.1:9"]
tls = "none"
allow_plaintext = true
user_base = "ou=staff,dc=tax"
[directories.attributes]
id_number = "employeeID"
employee_number = "employeeID"
[directories.groups]
member_of_attribute = "memberOf"
[directories.roles]
"cn=inspectors,ou=groups,dc=tax" = ["tax_inspector"]

[[directories]]
id = "police"
name = "公安局"
urls = ["ldap://127.0.0.1:9"]
tls = "none"
allow_plaintext = true
user_base = "ou=people,dc=police"
link_citizens = false
"""


def write_config(directory: Path) -> Path:
    path = directory / "directories.toml"
    path.write_text(CONFIG)
    return path


def staff(directory: str, login: str, *, external_id: str | None = None, **fields
          ) -> DirectoryIdentity:
    base = {"finance": "ou=people,dc=finance", "tax": "ou=staff,dc=tax",
            "police": "ou=people,dc=police"}[directory]
    values = dict(directory=directory, external_id=external_id or f"{directory}-{login}",
                  dn=f"uid={login},{base}", login=login, display_name=f"职员 {login}",
                  mail=f"{login}@{directory}.example", employee_number=f"E-{login}")
    values.update(fields)
    return DirectoryIdentity(**values)


def install(app, entries: dict[str, list[DirectoryIdentity]] | None = None
            ) -> dict[str, FakeDirectory]:
    """Put fakes (with `entries`, all with PASSWORD) behind the app's configured directories."""
    configs = load(app.extensions["tongban.settings"].directories)
    fakes = {c.id: FakeDirectory(c) for c in configs}
    for directory, identities in (entries or {}).items():
        for identity in identities:
            fakes[directory].put(identity, PASSWORD)
    app.extensions["tongban.directories"] = Directories(configs, implementations=fakes)
    return fakes


#: the tests read the English pages
ENGLISH = {"Accept-Language": "en"}


def department_login(http, account: str, password: str = PASSWORD, department: str = "",
                     next_path: str = "/", **environ):
    page = http.get("/login/department", query_string={"next": next_path}, headers=ENGLISH)
    return http.post("/login/department", query_string={"next": next_path},
                     data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                           "department": department, "account": account,
                           "password": password}, environ_base=environ, headers=ENGLISH)


def link_account(http, account: str, password: str = PASSWORD, department: str = "",
                 next_path: str = "/"):
    page = http.get("/login/department/link", query_string={"next": next_path},
                    headers=ENGLISH)
    assert page.status_code == 200, page.headers.get("Location")
    return http.post("/login/department/link", query_string={"next": next_path},
                     data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                           "department": department, "account": account,
                           "password": password}, headers=ENGLISH)


def verify_number(app, person_id: int, number: str = ID_NUMBER, level: int = 1) -> None:
    """Record a verified identity document (what issue 3's verification produces)."""
    from idp.extensions import db
    from idp.models import IdentityDocument
    from idp.verification import documents

    now = datetime.now(UTC).replace(tzinfo=None)
    with app.app_context():
        db.session.add(IdentityDocument(
            person_id=person_id, doc_type="cn_resident_id",
            number_sealed=documents.seal_number(number),
            number_index=documents.number_index(number), number_masked=documents.mask(number),
            legal_name="陈静", level=level, verified_at=now if level else None, created_at=now))
        db.session.commit()
