"""A real OpenLDAP slapd for the directory tests and the directory benchmark.

Two department trees in one server: the finance bureau in inetOrgPerson style (uid,
employeeNumber, groupOfNames) and the tax bureau with Active-Directory-style attributes
(sAMAccountName, userPrincipalName, memberOf, userAccountControl, objectGUID, uSNChanged; see
ad-lite.schema). A few thousand generated entries are bulk-loaded with slapadd before the server
starts. TLS uses a test CA made here; the server listens on loopback ports only, runs as a
non-daemon child process (`-d stats`, its log kept to count binds) and is stopped by its PID.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .pki import TestPKI, make_pki  # noqa: F401 (re-exported for fixtures and the bench)

SCHEMA = Path("/etc/ldap/schema")
HERE = Path(__file__).parent
FINANCE = "dc=finance,dc=gov,dc=example"
TAX = "dc=tax,dc=gov,dc=example"
FINANCE_PEOPLE = f"ou=people,{FINANCE}"
TAX_STAFF = f"OU=Staff,{TAX}"
ROOT_PASSWORD = "root-secret-for-tests"
SERVICE_PASSWORD = "service-secret-for-tests"
STAFF_PASSWORD = "Staff-pass-2026"
FINANCE_SERVICE = f"cn=tongban,ou=services,{FINANCE}"
TAX_SERVICE = f"CN=svc-tongban,OU=Services,{TAX}"
#: the national ID number the tax directory holds for chen.jing (employeeID)
CHEN_ID_NUMBER = "110101199003074514"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 (slapd's {SSHA})
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


# --- data ----------------------------------------------------------------------------------------

def _entry(dn: str, **attrs) -> str:
    lines = [f"dn: {dn}"]
    for attr, values in attrs.items():
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, bytes):
                lines.append(f"{attr}:: {base64.b64encode(value).decode()}")
            elif not str(value).isascii() or str(value).startswith((" ", ":", "<")):
                lines.append(f"{attr}:: {base64.b64encode(str(value).encode()).decode()}")
            else:
                lines.append(f"{attr}: {value}")
    return "\n".join(lines) + "\n\n"


def _chinese_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + \
        GIVEN[(n // 7) % len(GIVEN)]


def finance_ldif(count: int) -> str:
    """inetOrgPerson style: uid logins, employeeNumber, groupOfNames groups."""
    base = FINANCE
    out = [_entry(base, objectClass=["dcObject", "organization"], dc="finance", o="市财政局"),
           _entry(f"ou=people,{base}", objectClass="organizationalUnit", ou="people"),
           _entry(f"ou=contractors,ou=people,{base}", objectClass="organizationalUnit",
                  ou="contractors"),
           _entry(f"ou=retired,{base}", objectClass="organizationalUnit", ou="retired"),
           _entry(f"ou=groups,{base}", objectClass="organizationalUnit", ou="groups"),
           _entry(f"ou=services,{base}", objectClass="organizationalUnit", ou="services"),
           _entry(FINANCE_SERVICE, objectClass=["organizationalRole", "simpleSecurityObject"],
                  cn="tongban", userPassword=ssha(SERVICE_PASSWORD))]

    def person(dn, uid, name, number, **extra):
        # entryUUID is given (slapadd would make one up) so a replica loaded from the same
        # file has the same stable ids.
        return _entry(dn, objectClass="inetOrgPerson", uid=uid,
                      entryUUID=str(uuid.uuid5(uuid.NAMESPACE_URL, dn.lower())), cn=name,
                      sn=name[:1],
                      displayName=name, mail=f"{uid}@finance.gov.example",
                      telephoneNumber=f"+86 10 6{number:07d}", employeeNumber=f"F{number:06d}",
                      userPassword=ssha(extra.pop("password", STAFF_PASSWORD)), **extra)

    people = FINANCE_PEOPLE
    out.append(person(f"uid=zhang.wei,{people}", "zhang.wei", "张伟", 1))
    out.append(person(f"cn=Zhao\\, Min,{people}", "zhao.min", "Zhao, Min", 2))
    out.append(person(f"uid=li.na,{people}", "li.na", "李娜", 3,
                      pwdAccountLockedTime="20260101000000Z"))
    out.append(person(f"uid=wang.fang,{people}", "wang.fang", "王芳", 4,
                      pwdAccountLockedTime="000001010000Z"))
    out.append(person(f"uid=dup,{people}", "dup", "重名甲", 5))
    out.append(person(f"uid=dup,ou=contractors,{people}", "dup", "重名乙", 6))
    out.append(person(f"uid=retiree,ou=retired,{base}", "retiree", "退休", 7))
    out.append(person(f"uid=zhang.wei,ou=retired,{base}", "zhang.wei", "张伟(退休)", 8,
                      password="Retired-pass-2026"))
    out.append(person(f"uid=a(b)c,{people}", "a(b)c", "括号", 9))
    generated = []
    for n in range(10, count + 10):
        uid = f"f{n:06d}"
        generated.append(f"uid={uid},{people}")
        out.append(person(f"uid={uid},{people}", uid, _chinese_name(n), n))
    out.append(_entry(f"cn=approvers,ou=groups,{base}", objectClass="groupOfNames",
                      cn="approvers", member=[f"uid=zhang.wei,{people}",
                                              f"cn=Zhao\\, Min,{people}"]))
    out.append(_entry(f"cn=auditors,ou=groups,{base}", objectClass="groupOfNames",
                      cn="auditors", member=generated[:50]))
    out.append(_entry(f"cn=staff,ou=groups,{base}", objectClass="groupOfNames", cn="staff",
                      member=[f"uid=zhang.wei,{people}", f"cn=Zhao\\, Min,{people}",
                              *generated]))
    return "".join(out)


def tax_ldif(count: int) -> str:
    """Active-Directory style: sAMAccountName/userPrincipalName logins, memberOf on the user,
    userAccountControl, objectGUID, uSNChanged, employeeID holding the national ID number."""
    base = TAX
    usn = iter(range(1000, 10_000_000))
    groups = {"inspectors": f"CN=Inspectors,OU=Groups,{base}",
              "staff": f"CN=Tax Staff,OU=Groups,{base}"}
    out = [_entry(base, objectClass=["dcObject", "organization"], dc="tax", o="市税务局"),
           _entry(TAX_STAFF, objectClass="organizationalUnit", ou="Staff"),
           _entry(f"OU=Groups,{base}", objectClass="organizationalUnit", ou="Groups"),
           _entry(f"OU=Services,{base}", objectClass="organizationalUnit", ou="Services"),
           _entry(TAX_SERVICE, objectClass=["organizationalRole", "simpleSecurityObject"],
                  cn="svc-tongban", userPassword=ssha(SERVICE_PASSWORD))]
    members: dict[str, list[str]] = {k: [] for k in groups}

    def user(name, sam, number, member_of=(), control=512, **extra):
        dn = f"CN={name},{TAX_STAFF}"
        for key in member_of:
            members[key].append(dn)
        return _entry(dn, objectClass="user", cn=name, sn=name[:1], displayName=name,
                      sAMAccountName=sam, userPrincipalName=f"{sam}@tax.gov.example",
                      mail=f"{sam}@tax.gov.example", telephoneNumber=f"+86 10 8{number:07d}",
                      employeeID=extra.pop("employee_id", f"T{number:06d}"),
                      objectGUID=uuid.uuid4().bytes_le, uSNChanged=str(next(usn)),
                      userAccountControl=str(control),
                      memberOf=[groups[k] for k in member_of],
                      userPassword=ssha(STAFF_PASSWORD), **extra)

    out.append(user("陈静", "chen.jing", 1, ("inspectors", "staff"),
                    employee_id=CHEN_ID_NUMBER))
    out.append(user("周禁用", "zhou.disabled", 2, ("staff",), control=514))
    out.append(user("吴锁定", "wu.locked", 3, ("staff",), lockoutTime="132000000000000000"))
    out.append(user("No Number", "no.number", 4, ("staff",), employee_id="T-NONE"))
    for n in range(10, count + 10):
        out.append(user(_chinese_name(n) + f"{n}", f"t{n:06d}", n, ("staff",)))
    for key, dn in groups.items():
        out.append(_entry(dn, objectClass="group", cn=dn.split(",")[0][3:],
                          sAMAccountName=key, member=members[key] or [TAX_SERVICE],
                          uSNChanged=str(next(usn)), objectGUID=uuid.uuid4().bytes_le))
    return "".join(out)


# --- the server ----------------------------------------------------------------------------------

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {here}/ad-lite.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
# ppolicy defines pwdAccountLockedTime (locked, or "000001010000Z": disabled by an administrator)
moduleload ppolicy
TLSCACertificateFile {pki.ca}
TLSCertificateFile {pki.cert}
TLSCertificateKeyFile {pki.key}
"""

DATABASE = """\
database mdb
suffix "{suffix}"
rootdn "cn=root,{suffix}"
rootpw {root_password}
directory {dir}/{name}
maxsize 268435456
index objectClass eq
index uid,sAMAccountName,userPrincipalName,cn eq
index member,memberOf eq
index entryUUID eq
# The service account lists every entry in pages during a sync (AD allows this by default).
limits dn.exact="{service}" size=unlimited
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="{service}" read
  by self read
  by * none
"""


@dataclass
class Slapd:
    workdir: Path
    pki: TestPKI
    ldif: dict[str, Path]
    ldap_port: int = field(default_factory=free_port)
    ldaps_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "slapd.log"

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def conf(self) -> Path:
        return self.workdir / "slapd.conf"

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = CONFIG.format(schema=SCHEMA, here=HERE, dir=self.workdir, pki=self.pki)
        for suffix, name, service in ((FINANCE, "finance", FINANCE_SERVICE),
                                      (TAX, "tax", TAX_SERVICE)):
            (self.workdir / name).mkdir(exist_ok=True)
            text += DATABASE.format(suffix=suffix, name=name, dir=self.workdir,
                                    root_password=ROOT_PASSWORD, service=service)
        self.conf.write_text(text)
        for suffix, path in self.ldif.items():
            subprocess.run(["slapadd", "-q", "-f", str(self.conf), "-b", suffix, "-l", str(path)],
                           check=True, capture_output=True)

    def start(self, timeout: float = 15) -> None:
        with open(self.log, "ab") as log:
            # -d stats: stay in the foreground (a child we can stop by PID) and log every bind.
            self.process = subprocess.Popen(
                ["slapd", "-d", "stats", "-f", str(self.conf), "-h",
                 f"{self.ldap_url}/ {self.ldaps_url}/"], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.ldap_port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", self.ldaps_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def pause(self) -> None:
        """Freeze the server: connections are accepted by the kernel, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def binds(self, dn: str | None = None) -> int:
        """Bind operations the server logged (for one DN, if given)."""
        count = 0
        for line in self.log.read_text(errors="replace").splitlines():
            if " BIND dn=" in line and "method=128" in line and (
                    dn is None or f'dn="{dn.lower()}"' in line.lower()):
                count += 1
        return count

    def modify(self, suffix: str, ldif: str) -> None:
        """Change entries as the root DN (ldapmodify from ldap-utils)."""
        done = subprocess.run(["ldapmodify", "-x", "-H", self.ldap_url, "-D",
                               f"cn=root,{suffix}", "-w", ROOT_PASSWORD], input=ldif.encode(),
                              capture_output=True, timeout=20)
        if done.returncode:
            raise RuntimeError(f"ldapmodify failed: {done.stderr.decode(errors='replace')}")


def build(workdir: Path, pki: TestPKI, ldif: dict[str, Path], name: str) -> Slapd:
    server = Slapd(workdir=workdir / name, pki=pki, ldif=ldif)
    server.prepare()
    return server


def write_data(workdir: Path, finance_count: int = 3000, tax_count: int = 2000
               ) -> dict[str, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {FINANCE: workdir / "finance.ldif", TAX: workdir / "tax.ldif"}
    paths[FINANCE].write_text(finance_ldif(finance_count))
    paths[TAX].write_text(tax_ldif(tax_count))
    return paths


def directories_toml(primary: Slapd, pki: TestPKI, password_file: Path, *,
                     replica: Slapd | None = None, finance_urls: list[str] | None = None,
                     tax_urls: list[str] | None = None, ca: Path | None = None,
                     receive_timeout: float = 2.0) -> str:
    """The TONGBAN_DIRECTORIES file for these servers: finance over StartTLS, tax over LDAPS."""
    finance = finance_urls or [primary.ldap_url]
    tax = tax_urls or ([replica.ldaps_url, primary.ldaps_url] if replica else [primary.ldaps_url])
    ca = ca or pki.ca
    return f"""
[[directories]]
id = "finance"
name = "市财政局"
name_en = "Finance Bureau"
aliases = ["fin", "finance.gov.example"]
kind = "openldap"
urls = {finance!r}
tls = "starttls"
ca_file = "{ca}"
bind_dn = "{FINANCE_SERVICE}"
bind_password_file = "{password_file}"
user_base = "{FINANCE_PEOPLE}"
user_filter = "(objectClass=inetOrgPerson)"
connect_timeout = 1.0
receive_timeout = {receive_timeout}
link_citizens = true
[directories.attributes]
login = "uid"
employee_number = "employeeNumber"
[directories.groups]
base = "ou=groups,{FINANCE}"
filter = "(objectClass=groupOfNames)"
[directories.roles]
"cn=approvers,ou=groups,{FINANCE}" = ["finance_approver"]
"cn=auditors,ou=groups,{FINANCE}" = ["finance_auditor"]

[[directories]]
id = "tax"
name = "市税务局"
name_en = "Tax Bureau"
aliases = ["tax.gov.example", "TAXBUREAU"]
kind = "ad"
urls = {tax!r}
tls = "ldaps"
ca_file = "{ca}"
bind_dn = "{TAX_SERVICE}"
bind_password_file = "{password_file}"
user_base = "{TAX_STAFF}"
user_filter = "(objectClass=user)"
connect_timeout = 1.0
receive_timeout = {receive_timeout}
[directories.attributes]
login = "sAMAccountName"
id_number = "employeeID"
employee_number = "employeeID"
[directories.groups]
base = "OU=Groups,{TAX}"
member_of_attribute = "memberOf"
[directories.roles]
"CN=Inspectors,OU=Groups,{TAX}" = ["tax_inspector"]
"CN=Tax Staff,OU=Groups,{TAX}" = ["tax_staff"]
"""

