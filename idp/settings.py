"""One typed settings object for the whole IdP.

Every knob is declared here once, with its environment variable and its meaning. Values are read at
start-up, validated, and frozen. Production fails closed: no default secret, no http issuer, no
missing signing key (see :meth:`Settings.validate`).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "development", "test")
#: the real-name verification gateways, each configured by TONGBAN_<NAME>_URL/_APP_KEY/_APP_SECRET
GATEWAYS = ("registry", "carrier", "bank", "face")


class ConfigError(Exception):
    """The configuration cannot run safely; the message says what to change."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "yes", "on")


def _is_data_key(value: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True)
class Settings:
    # --- where and what ---------------------------------------------------------------------------
    #: TONGBAN_ENV: "production", "development" (the local demo) or "test".
    env: str = "development"
    #: TONGBAN_ISSUER: the issuer identifier; every URL the IdP publishes is built from it, never
    #: from the request's Host header. https in production.
    issuer: str = "http://127.0.0.1:5000"
    #: TONGBAN_SECRET_KEY: signs the browser cookie that carries CSRF state and derives the keys
    #: for deterministic refresh-token successors. Required in production (at least 32 chars).
    secret_key: str = ""
    #: TONGBAN_DATA_KEY: 32 random bytes, base64, that encrypt personal data at rest (identity
    #: numbers, TOTP secrets) and key the lookup index of identity numbers and the hashes of
    #: recovery codes. Changing it makes those unreadable: keep it, the same on every node. It
    #: lives in configuration, never in the database. Required in production; outside production
    #: it is derived from the secret key.
    data_key: str = ""
    #: TONGBAN_DATABASE_URL: SQLAlchemy URL. Default: SQLite (WAL) under instance/.
    database_url: str = ""
    #: TONGBAN_INSTANCE_DIR: where the embedded SQLite database lives.
    instance_dir: Path = Path("instance")
    #: TONGBAN_KEYS_DIR: signing keys (private JWK files, 0600). Shared by every node of a cluster.
    keys_dir: Path = Path("keys")
    #: TONGBAN_GENERATE_KEYS: create missing signing keys at start-up (the embedded default).
    #: Production never generates keys implicitly: run `flask --app wsgi keys init` once.
    generate_keys: bool = True
    #: TONGBAN_TRUST_PROXY: number of reverse proxies in front whose X-Forwarded-For is trusted.
    trust_proxy: int = 0

    # --- lifetimes (seconds) ----------------------------------------------------------------------
    #: TONGBAN_CODE_TTL: authorization codes; at most 60 s.
    code_ttl: int = 60
    #: TONGBAN_ACCESS_TOKEN_TTL: JWT access tokens.
    access_token_ttl: int = 600
    #: TONGBAN_ID_TOKEN_TTL: ID tokens.
    id_token_ttl: int = 600
    #: TONGBAN_CLIENT_CREDENTIALS_TTL: access tokens from the client_credentials grant.
    client_credentials_ttl: int = 600
    #: TONGBAN_REFRESH_IDLE_TTL: a refresh token unused this long is dead.
    refresh_idle_ttl: int = 7 * 24 * 3600
    #: TONGBAN_REFRESH_ABSOLUTE_TTL: no refresh family outlives this, however often it is used.
    refresh_absolute_ttl: int = 30 * 24 * 3600
    #: TONGBAN_REFRESH_REUSE_GRACE: seconds during which presenting the just-rotated refresh token
    #: again (a lost response) returns the very same successor instead of revoking the family.
    #: 0 turns the grace off: any reuse revokes the family.
    refresh_reuse_grace: int = 5
    #: TONGBAN_SESSION_IDLE_TTL / TONGBAN_SESSION_ABSOLUTE_TTL: SSO sessions at the IdP.
    session_idle_ttl: int = 3600
    session_absolute_ttl: int = 24 * 3600
    #: TONGBAN_INTERACTION_TTL: how long a pending login/consent interaction stays usable.
    interaction_ttl: int = 30 * 60

    #: TONGBAN_REAUTH_MAX_AGE: changing one's sign-in factors (adding or removing an authenticator
    #: app or passkey, new recovery codes) needs a first-factor login at most this long ago.
    reauth_max_age: int = 600

    # --- second factors and brute force -----------------------------------------------------------
    #: TONGBAN_THROTTLE_FREE_FAILURES: consecutive failed attempts (per account and per source
    #: address) that cost nothing; from the next one on each failure doubles the wait (1 s, 2 s,
    #: 4 s, ...) up to TONGBAN_THROTTLE_MAX_DELAY, which is the temporary lock.
    throttle_free_failures: int = 4
    #: TONGBAN_THROTTLE_SOURCE_FREE_FAILURES: the same allowance for one source address, larger
    #: because many people may share an address (an office behind NAT, a service hall).
    throttle_source_free_failures: int = 30
    #: TONGBAN_THROTTLE_MAX_DELAY: the longest wait (seconds), i.e. the temporary lock.
    throttle_max_delay: int = 900
    #: TONGBAN_THROTTLE_HARD_LOCK: consecutive failures after which an account is locked until a
    #: security officer unlocks it (`flask users unlock`) or the person signs in with a passkey.
    throttle_hard_lock: int = 100
    #: TONGBAN_THROTTLE_SOURCE_QUIET: a source address's failures are forgotten after this many
    #: seconds without one (sources are never hard-locked: many people may share one address).
    throttle_source_quiet: int = 3600

    # --- channels (DESIGN §4) ---------------------------------------------------------------------
    #: TONGBAN_WECHAT_API_URL: base URL of WeChat's server API (code2Session lives at
    #: /sns/jscode2session). The demo and the tests point it at simulators/wechat on loopback.
    wechat_api_url: str = "https://api.weixin.qq.com"
    #: TONGBAN_ALIPAY_GATEWAY_URL: Alipay's open-platform gateway (alipay.system.oauth.token).
    alipay_gateway_url: str = "https://openapi.alipay.com/gateway.do"
    #: TONGBAN_PLATFORM_APPS_FILE: JSON file describing the mini-program apps whose platform
    #: identities Tongban verifies, their platform credentials (WeChat AppSecret, Alipay key
    #: files) and the Tongban clients allowed to exchange codes from each. Without it no
    #: mini-program can sign in. Kept out of the database like the signing keys: see README.
    platform_apps_file: Path | None = None
    #: TONGBAN_PLATFORM_TIMEOUT: seconds Tongban waits for a platform API (connect + read).
    platform_timeout: float = 5.0
    #: TONGBAN_BINDING_TICKET_TTL: seconds within which a binding ticket must be opened (≤ 60).
    binding_ticket_ttl: int = 60
    #: TONGBAN_QR_LOGIN_TTL: seconds a QR login request lives, from display to confirmation (≤ 120).
    qr_login_ttl: int = 120
    #: TONGBAN_QR_POLL_INTERVAL: the PC page may ask for the QR state at most this often (s).
    qr_poll_interval: float = 1.0
    #: TONGBAN_DEVICE_CODE_TTL: lifetime of an RFC 8628 device code and its user code (s).
    device_code_ttl: int = 600
    #: TONGBAN_DEVICE_POLL_INTERVAL: the minimum seconds between a terminal's polls (RFC 8628 §3.2
    #: `interval`); each slow_down adds 5.
    device_poll_interval: int = 5
    #: TONGBAN_TERMINAL_SESSION_TTL: terminals get short sessions: their access tokens and the
    #: session behind them last this long (s), and they never get a refresh token.
    terminal_session_ttl: int = 300

    # --- keys -------------------------------------------------------------------------------------
    #: TONGBAN_KEY_PUBLISH_AHEAD: a new key is published this long before it starts signing, so
    #: relying parties that cache the JWKS have it before they meet a token it signed.
    key_publish_ahead: int = 3600

    # --- outbound requests (idp/fetch.py) --------------------------------------------------------
    #: TONGBAN_FETCH_ALLOW_LOOPBACK: let the IdP fetch client-supplied URLs (jwks_uri,
    #: sector_identifier_uri) on loopback addresses, over http too. On outside production (the
    #: demo's portals live on 127.0.0.1); refused in production. Private, link-local and other
    #: non-global addresses are never fetched.
    fetch_allow_loopback: bool = False
    #: TONGBAN_FETCH_TIMEOUT: seconds a whole outbound fetch may take (connect, redirects, body).
    fetch_timeout: float = 5.0
    #: TONGBAN_FETCH_MAX_BYTES: the largest response body the IdP reads from a client's URL.
    fetch_max_bytes: int = 256 * 1024

    # --- audit trail ------------------------------------------------------------------------------
    #: TONGBAN_AUDIT_KEY: keys the audit hash chain (HMAC-SHA256), so that someone who can write
    #: to the database cannot forge records or re-chain after tampering. Default: derived from
    #: TONGBAN_SECRET_KEY. Keep it (and any previous value) as long as the records it chained.
    audit_key: str = ""
    #: TONGBAN_AUDIT_RETENTION_DAYS: records younger than this are never archived (at least 180).
    audit_retention_days: int = 180

    # --- back-channel logout ----------------------------------------------------------------------
    #: TONGBAN_LOGOUT_MAX_ATTEMPTS: deliveries of a logout token before it is marked failed.
    logout_max_attempts: int = 8
    #: TONGBAN_LOGOUT_RETRY_BASE / TONGBAN_LOGOUT_RETRY_MAX: seconds before the first retry,
    #: doubling after each failure, never more than the maximum.
    logout_retry_base: int = 10
    logout_retry_max: int = 3600
    #: TONGBAN_LOGOUT_TIMEOUT: seconds a client has to answer a logout token.
    logout_timeout: int = 5

    # --- officer console --------------------------------------------------------------------------
    #: TONGBAN_ALERT_WINDOW: seconds over which failed logins are counted for alerts.
    alert_window: int = 900
    #: TONGBAN_ALERT_SOURCE_FAILURES / TONGBAN_ALERT_ACCOUNT_FAILURES: failed logins within the
    #: window from one address / against one account that raise an alert.
    alert_source_failures: int = 20
    alert_account_failures: int = 5

    # --- department directories ------------------------------------------------------------------
    #: TONGBAN_DIRECTORIES: path of a TOML or JSON file listing the departments' LDAP/AD
    #: directories (format: idp/directory/config.py). Empty: no department login.
    directories: str = ""

    # --- pages ------------------------------------------------------------------------------------
    #: TONGBAN_DEFAULT_LOCALE: the language pages are shown in when nothing else decides.
    default_locale: str = "zh_Hans_CN"
    #: TONGBAN_SITE_NAME: the name shown in page headers.
    site_name: str = "通办"

    # --- real-name verification gateways (DESIGN §2) ---------------------------------------------
    #: TONGBAN_REGISTRY_URL / _APP_KEY / _APP_SECRET: the population registry's two-factor check
    #: (name + number). TONGBAN_CARRIER_*: a carrier's three-factor check (+ mobile number).
    #: TONGBAN_BANK_*: the bank card four-factor check (+ card and reserved mobile number).
    #: TONGBAN_FACE_*: remote face verification against the registry portrait. Each is the base
    #: URL of the gateway and the app key and secret it issued to us (requests are signed with
    #: HMAC-SHA256, see idp/verification/gateway.py). A gateway left unset is "unavailable": the
    #: person is asked to try again later. https in production.
    registry_url: str = ""
    registry_app_key: str = ""
    registry_app_secret: str = ""
    carrier_url: str = ""
    carrier_app_key: str = ""
    carrier_app_secret: str = ""
    bank_url: str = ""
    bank_app_key: str = ""
    bank_app_secret: str = ""
    face_url: str = ""
    face_app_key: str = ""
    face_app_secret: str = ""
    #: TONGBAN_GATEWAY_TIMEOUT_MS: connect and read timeout of one gateway call.
    gateway_timeout_ms: int = 3000
    #: TONGBAN_GATEWAY_RETRIES: further attempts after a timeout, a connection failure or a 503
    #: (never after a definite answer); the person waits at most (1 + retries) x timeout.
    gateway_retries: int = 1

    # --- derived ----------------------------------------------------------------------------------
    extra: dict = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.issuer).scheme == "https"

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only and
        # Path=/; it can only be used where the issuer is https.
        return "__Host-tongban_session" if self.secure_cookies else "tongban_session"

    @property
    def data_key_bytes(self) -> bytes:
        """The personal-data key; outside production derived from the secret key."""
        import base64
        import hashlib

        if _is_data_key(self.data_key):
            return base64.b64decode(self.data_key)
        return hashlib.sha256(f"tongban/data-key/{self.secret_key}".encode()).digest()

    @property
    def webauthn_rp_id(self) -> str:
        """The WebAuthn relying party id: the issuer's host name, never the request's Host."""
        return urlsplit(self.issuer).hostname or ""

    @property
    def webauthn_origin(self) -> str:
        """The only origin WebAuthn ceremonies may come from: the issuer's."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def passkeys_available(self) -> bool:
        """WebAuthn needs a domain name (an IP address is never a valid RP id); plain http is
        accepted by browsers only for localhost."""
        import ipaddress

        host = self.webauthn_rp_id
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return bool(host)
        return False

    @property
    def max_token_ttl(self) -> int:
        return max(self.access_token_ttl, self.id_token_ttl, self.client_credentials_ttl)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = _env("TONGBAN_ENV", "development")
        instance_dir = Path(_env("TONGBAN_INSTANCE_DIR", "instance")).resolve()
        values = dict(
            env=env,
            issuer=_env("TONGBAN_ISSUER", "http://127.0.0.1:5000"),
            secret_key=_env("TONGBAN_SECRET_KEY", ""),
            data_key=_env("TONGBAN_DATA_KEY", ""),
            database_url=_env("TONGBAN_DATABASE_URL", ""),
            instance_dir=instance_dir,
            keys_dir=Path(_env("TONGBAN_KEYS_DIR", "keys")).resolve(),
            generate_keys=_bool("TONGBAN_GENERATE_KEYS", env != "production"),
            trust_proxy=_int("TONGBAN_TRUST_PROXY", 0),
            code_ttl=_int("TONGBAN_CODE_TTL", 60),
            access_token_ttl=_int("TONGBAN_ACCESS_TOKEN_TTL", 600),
            id_token_ttl=_int("TONGBAN_ID_TOKEN_TTL", 600),
            client_credentials_ttl=_int("TONGBAN_CLIENT_CREDENTIALS_TTL", 600),
            refresh_idle_ttl=_int("TONGBAN_REFRESH_IDLE_TTL", 7 * 24 * 3600),
            refresh_absolute_ttl=_int("TONGBAN_REFRESH_ABSOLUTE_TTL", 30 * 24 * 3600),
            refresh_reuse_grace=_int("TONGBAN_REFRESH_REUSE_GRACE", 5),
            session_idle_ttl=_int("TONGBAN_SESSION_IDLE_TTL", 3600),
            session_absolute_ttl=_int("TONGBAN_SESSION_ABSOLUTE_TTL", 24 * 3600),
            interaction_ttl=_int("TONGBAN_INTERACTION_TTL", 30 * 60),
            reauth_max_age=_int("TONGBAN_REAUTH_MAX_AGE", 600),
            throttle_free_failures=_int("TONGBAN_THROTTLE_FREE_FAILURES", 4),
            throttle_source_free_failures=_int("TONGBAN_THROTTLE_SOURCE_FREE_FAILURES", 30),
            throttle_max_delay=_int("TONGBAN_THROTTLE_MAX_DELAY", 900),
            throttle_hard_lock=_int("TONGBAN_THROTTLE_HARD_LOCK", 100),
            throttle_source_quiet=_int("TONGBAN_THROTTLE_SOURCE_QUIET", 3600),
            wechat_api_url=_env("TONGBAN_WECHAT_API_URL", "https://api.weixin.qq.com"),
            alipay_gateway_url=_env("TONGBAN_ALIPAY_GATEWAY_URL",
                                    "https://openapi.alipay.com/gateway.do"),
            platform_apps_file=(Path(_env("TONGBAN_PLATFORM_APPS_FILE")).resolve()
                                if _env("TONGBAN_PLATFORM_APPS_FILE") else None),
            platform_timeout=_float("TONGBAN_PLATFORM_TIMEOUT", 5.0),
            binding_ticket_ttl=_int("TONGBAN_BINDING_TICKET_TTL", 60),
            qr_login_ttl=_int("TONGBAN_QR_LOGIN_TTL", 120),
            qr_poll_interval=_float("TONGBAN_QR_POLL_INTERVAL", 1.0),
            device_code_ttl=_int("TONGBAN_DEVICE_CODE_TTL", 600),
            device_poll_interval=_int("TONGBAN_DEVICE_POLL_INTERVAL", 5),
            terminal_session_ttl=_int("TONGBAN_TERMINAL_SESSION_TTL", 300),
            key_publish_ahead=_int("TONGBAN_KEY_PUBLISH_AHEAD", 3600),
            fetch_allow_loopback=_bool("TONGBAN_FETCH_ALLOW_LOOPBACK", env != "production"),
            fetch_timeout=float(_int("TONGBAN_FETCH_TIMEOUT", 5)),
            fetch_max_bytes=_int("TONGBAN_FETCH_MAX_BYTES", 256 * 1024),
            audit_key=_env("TONGBAN_AUDIT_KEY", ""),
            audit_retention_days=_int("TONGBAN_AUDIT_RETENTION_DAYS", 180),
            logout_max_attempts=_int("TONGBAN_LOGOUT_MAX_ATTEMPTS", 8),
            logout_retry_base=_int("TONGBAN_LOGOUT_RETRY_BASE", 10),
            logout_retry_max=_int("TONGBAN_LOGOUT_RETRY_MAX", 3600),
            logout_timeout=_int("TONGBAN_LOGOUT_TIMEOUT", 5),
            alert_window=_int("TONGBAN_ALERT_WINDOW", 900),
            alert_source_failures=_int("TONGBAN_ALERT_SOURCE_FAILURES", 20),
            alert_account_failures=_int("TONGBAN_ALERT_ACCOUNT_FAILURES", 5),
            default_locale=_env("TONGBAN_DEFAULT_LOCALE", "zh_Hans_CN"),
            site_name=_env("TONGBAN_SITE_NAME", "通办"),
            gateway_timeout_ms=_int("TONGBAN_GATEWAY_TIMEOUT_MS", 3000),
            gateway_retries=_int("TONGBAN_GATEWAY_RETRIES", 1),

            directories=_env("TONGBAN_DIRECTORIES", ""),
        )
        for gateway in GATEWAYS:
            for part in ("url", "app_key", "app_secret"):
                values[f"{gateway}_{part}"] = _env(f"TONGBAN_{gateway.upper()}_{part.upper()}", "")
        values.update(overrides)
        return cls(**values).completed()

    def completed(self) -> Settings:
        """Fill the values that have safe defaults outside production."""
        changes: dict = {}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{Path(self.instance_dir) / 'tongban.db'}"
        if not self.secret_key and not self.is_production:
            # Outside production a missing secret gets a random one per process start: cookies
            # do not survive a restart, which is the honest behaviour for a demo.
            changes["secret_key"] = secrets.token_urlsafe(32)
        return dataclasses.replace(self, **changes) if changes else self

    def validate(self) -> None:
        """Refuse to run with settings that would be unsafe; each message says what to fix."""
        problems = []
        if self.env not in ENVIRONMENTS:
            problems.append(f"TONGBAN_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                            f"not {self.env!r}")
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"TONGBAN_ISSUER must be an absolute URL, not {self.issuer!r}")
        if parts.query or parts.fragment:
            problems.append("TONGBAN_ISSUER must not contain a query or fragment")
        if self.issuer.endswith("/"):
            problems.append("TONGBAN_ISSUER must not end with '/'")
        if self.is_production:
            if parts.scheme != "https":
                problems.append("TONGBAN_ISSUER must use https in production")
            if not _is_data_key(self.data_key):
                problems.append("TONGBAN_DATA_KEY must be 32 random bytes in base64 in production "
                                "(for example: python -c 'import base64, os; "
                                "print(base64.b64encode(os.urandom(32)).decode())')")
            if len(self.secret_key) < 32:
                problems.append("TONGBAN_SECRET_KEY must be set to at least 32 random characters "
                                "in production (for example: python -c 'import secrets; "
                                "print(secrets.token_urlsafe(48))')")
            if self.fetch_allow_loopback:
                problems.append("TONGBAN_FETCH_ALLOW_LOOPBACK must be off in production")
        if not 1 <= self.code_ttl <= 60:
            problems.append("TONGBAN_CODE_TTL must be between 1 and 60 seconds")
        if self.refresh_reuse_grace < 0 or self.refresh_reuse_grace > 60:
            problems.append("TONGBAN_REFRESH_REUSE_GRACE must be between 0 and 60 seconds")
        if self.session_idle_ttl > self.session_absolute_ttl:
            problems.append("TONGBAN_SESSION_IDLE_TTL must not exceed TONGBAN_SESSION_ABSOLUTE_TTL")
        if not 0 < self.fetch_timeout <= 30 or not 1024 <= self.fetch_max_bytes <= 4 * 1024 * 1024:
            problems.append("TONGBAN_FETCH_TIMEOUT must be 1-30 s and TONGBAN_FETCH_MAX_BYTES "
                            "1 KiB-4 MiB")
        if min(self.throttle_free_failures, self.throttle_source_free_failures,
               self.throttle_max_delay) < 1:
            problems.append("TONGBAN_THROTTLE_FREE_FAILURES, TONGBAN_THROTTLE_SOURCE_FREE_FAILURES "
                            "and TONGBAN_THROTTLE_MAX_DELAY must be at least 1")
        if self.throttle_hard_lock <= self.throttle_free_failures:
            problems.append("TONGBAN_THROTTLE_HARD_LOCK must exceed TONGBAN_THROTTLE_FREE_FAILURES")
        if self.audit_retention_days < 180:
            problems.append("TONGBAN_AUDIT_RETENTION_DAYS must be at least 180")
        if self.logout_max_attempts < 1 or not 1 <= self.logout_timeout <= 60:
            problems.append("TONGBAN_LOGOUT_MAX_ATTEMPTS must be at least 1 and "
                            "TONGBAN_LOGOUT_TIMEOUT between 1 and 60 seconds")
        for gateway in GATEWAYS:
            url = getattr(self, f"{gateway}_url")
            name = f"TONGBAN_{gateway.upper()}"
            if url and not (getattr(self, f"{gateway}_app_key")
                            and getattr(self, f"{gateway}_app_secret")):
                problems.append(f"{name}_URL is set: {name}_APP_KEY and {name}_APP_SECRET are "
                                "required too")
            if url and urlsplit(url).scheme not in ("http", "https"):
                problems.append(f"{name}_URL must be an absolute http(s) URL")
            if url and self.is_production and urlsplit(url).scheme != "https":
                problems.append(f"{name}_URL must use https in production")
        if not 100 <= self.gateway_timeout_ms <= 30000:
            problems.append("TONGBAN_GATEWAY_TIMEOUT_MS must be between 100 and 30000")
        if not 0 <= self.gateway_retries <= 3:
            problems.append("TONGBAN_GATEWAY_RETRIES must be between 0 and 3")
        problems.extend(self._channel_problems())
        if problems:
            raise ConfigError("Tongban cannot start:\n  - " + "\n  - ".join(problems))

    def _channel_problems(self) -> list[str]:
        problems = []
        if not 1 <= self.binding_ticket_ttl <= 60:
            problems.append("TONGBAN_BINDING_TICKET_TTL must be between 1 and 60 seconds")
        if not 1 <= self.qr_login_ttl <= 120:
            problems.append("TONGBAN_QR_LOGIN_TTL must be between 1 and 120 seconds")
        if not 1 <= self.device_poll_interval <= 60:
            problems.append("TONGBAN_DEVICE_POLL_INTERVAL must be between 1 and 60 seconds")
        if not 60 <= self.device_code_ttl <= 1800:
            problems.append("TONGBAN_DEVICE_CODE_TTL must be between 60 and 1800 seconds")
        if not 30 <= self.terminal_session_ttl <= 3600:
            problems.append("TONGBAN_TERMINAL_SESSION_TTL must be between 30 and 3600 seconds")
        if not 0 < self.platform_timeout <= 30:
            problems.append("TONGBAN_PLATFORM_TIMEOUT must be between 0 and 30 seconds")
        for name, url in (("TONGBAN_WECHAT_API_URL", self.wechat_api_url),
                          ("TONGBAN_ALIPAY_GATEWAY_URL", self.alipay_gateway_url)):
            scheme = urlsplit(url).scheme
            if scheme != "https" and (self.is_production or scheme != "http"):
                problems.append(f"{name} must be an https URL"
                                + (" in production" if scheme == "http" else ""))
        return problems


def current() -> Settings:
    """The running app's settings (set once by create_app)."""
    from flask import current_app

    return current_app.extensions["tongban.settings"]
