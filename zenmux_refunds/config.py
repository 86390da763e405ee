"""Every setting of the application, read from the environment in one place.

The README's "Configuration" table documents each variable; keep the two in step.
Nothing else in the code reads ``os.environ`` for application settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where customers write for help (the policy's "Contact us"; the prepared e-mail request)
SUPPORT_EMAIL = "support@zenmux.ai"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "zenmux.db"


class ConfigError(ValueError):
    """A setting has a value the application cannot use."""


def parse_instant(text: str, *, field: str) -> datetime:
    """Parse an ISO 8601 instant that carries a zone; return it in UTC."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{field}: expected an ISO 8601 instant with a zone, got {text!r}")
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(
            f"{field}: {text!r} is not an ISO 8601 instant (e.g. 2026-11-26T12:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise ConfigError(f"{field}: {text!r} has no time zone (add Z or +00:00)")
    return value.astimezone(timezone.utc)


def _country(name: str, default: str) -> str:
    """An ISO 3166-1 alpha-2 code the ``holidays`` library has a calendar for."""
    raw = (os.environ.get(name) or default).strip().upper()
    import holidays

    if raw not in holidays.list_supported_countries():
        raise ConfigError(f"{name}: {raw!r} is not a country the holidays library knows "
                          "(an ISO 3166-1 alpha-2 code such as US, CN, DE)")
    return raw


def _int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is outside {low}..{high}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected 1/0 or true/false, got {raw!r}")


@dataclass(frozen=True)
class SmtpTarget:
    """Where the outbox sends mail (``ZENMUX_SMTP_URL``). ``implicit_tls``: smtps://
    (TLS from the first byte); otherwise smtp:// with STARTTLS whenever the server
    offers it. The password never appears in a repr or a log."""

    implicit_tls: bool
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    database_url: str
    frozen_now: datetime | None
    clock_running: bool
    fee_percent: int
    demo_mode: bool
    session_hours: int
    sandbox_settle_seconds: int
    worker_interval_seconds: int
    reconcile_after_seconds: int
    # a refund still Refunding after this many provider inquiries, or this long after it
    # was first sent, needs support's attention ("stuck"; Hyperswitch's RETRIES_EXCEEDED)
    stuck_after_inquiries: int
    stuck_after_hours: int
    usage_token: str
    public_url: str
    stripe_api_key: str
    stripe_webhook_secret: str
    stripe_api_base: str
    stripe_send_reason: bool
    antom_client_id: str
    antom_private_key_pem: str
    antom_public_key_pem: str
    antom_base_url: str
    provider_timeout_seconds: int
    business_email: str
    # whose public holidays are not business days (ISO 3166 code, `holidays` library)
    business_days_country: str
    allowed_origins: tuple[str, ...]
    redis_url: str
    signin_max_failures: int
    signin_window_minutes: int
    signin_lockout_minutes: int
    signin_max_failures_per_address: int
    antom_notify_tolerance_seconds: int
    # None: mails are written to the outbox only, never sent
    smtp: SmtpTarget | None = None
    mail_from: str = "ZenMux <no-reply@zenmux.ai>"
    # ZENMUX_BACKGROUND: "inline" (each app process runs the background pass) or "off"
    # (a separate `python -m zenmux_refunds worker` runs it)
    background_inline: bool = True
    # /metrics: served only with this bearer token ("" = not served at all: 404)
    metrics_token: str = field(default="", repr=False)
    # PROMETHEUS_MULTIPROC_DIR: where every process of a host writes its counters
    # (prometheus-client's multiprocess mode; "" = this process's memory only)
    metrics_dir: str = ""
    # ZENMUX_LOG_FORMAT: json (one JSON object per line) or console
    log_format: str = "json"
    # the usage feed on NATS JetStream (``python -m zenmux_refunds usage consume``)
    nats_url: str = field(default="nats://127.0.0.1:4222", repr=False)
    # ZENMUX_NATS_URL was set: this deployment runs the broker (readiness checks it)
    nats_configured: bool = False
    nats_stream: str = "ZENMUX_USAGE"
    nats_subject_prefix: str = "zenmux.usage"  # the stream holds <prefix>.>
    nats_durable: str = "zenmux-usage"
    nats_batch: int = 1000  # messages fetched (and applied) at a time

    @property
    def nats_billed_subject(self) -> str:
        return f"{self.nats_subject_prefix}.billed"

    @property
    def nats_rejected_subject(self) -> str:
        return f"{self.nats_subject_prefix}.rejected"

    @property
    def https(self) -> bool:
        """The app is served over TLS (Secure cookies, HSTS)."""
        return self.public_url.lower().startswith("https://")

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_api_key)

    @property
    def antom_enabled(self) -> bool:
        return bool(self.antom_client_id and self.antom_private_key_pem)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database_url={self.database_url.split('@')[-1]!r}, ...)"


def _pem(name: str) -> str:
    """A PEM key from ``NAME`` (the key itself) or ``NAME_FILE`` (a path to it)."""
    value = os.environ.get(name, "").strip()
    path = os.environ.get(f"{name}_FILE", "").strip()
    if value:
        return value.replace("\\n", "\n")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    return ""


def _database_url_from(url: str) -> str:
    """Accept the common postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return _database_url_from(url)


def _origin(text: str, *, field: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; ConfigError if it is not one."""
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{field}: {text!r} is not an http(s) origin like https://zenmux.ai")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _origins(public_url: str) -> tuple[str, ...]:
    """The browser origins allowed to call the app (CORS, WebSocket, sign-in forms):
    ``ZENMUX_ALLOWED_ORIGINS`` (comma-separated), else the public URL's origin."""
    raw = os.environ.get("ZENMUX_ALLOWED_ORIGINS", "").strip()
    if not raw:
        return (_origin(public_url, field="ZENMUX_PUBLIC_URL"),)
    return tuple(_origin(o, field="ZENMUX_ALLOWED_ORIGINS") for o in raw.split(",") if o.strip())


def _smtp_target() -> SmtpTarget | None:
    """``ZENMUX_SMTP_URL``: ``smtp://[user:pass@]host[:port]`` (port 587 by default,
    STARTTLS when offered) or ``smtps://…`` (implicit TLS, port 465 by default); user
    and password percent-encoded. Errors never repeat the value (it holds a password)."""
    from urllib.parse import unquote, urlsplit

    raw = os.environ.get("ZENMUX_SMTP_URL", "").strip()
    if not raw:
        return None
    name = "ZENMUX_SMTP_URL"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{name}: not a URL like smtp://user:pass@host:587") from None
    if parts.scheme not in {"smtp", "smtps"}:
        raise ConfigError(f"{name}: the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise ConfigError(f"{name}: no host (smtp://user:pass@host:587)")
    if (parts.path not in {"", "/"}) or parts.query or parts.fragment:
        raise ConfigError(f"{name}: only scheme, credentials, host and port are read")
    tls = parts.scheme == "smtps"
    return SmtpTarget(implicit_tls=tls, host=parts.hostname,
                      port=port or (465 if tls else 587),
                      username=unquote(parts.username or ""),
                      password=unquote(parts.password or ""))


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
    return raw


def _metrics_dir() -> str:
    """PROMETHEUS_MULTIPROC_DIR (prometheus-client reads it too): made when missing."""
    raw = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if raw:
        try:
            Path(raw).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: cannot create {raw}: "
                              f"{exc.strerror}") from None
    return raw


def _metrics_token() -> str:
    raw = os.environ.get("ZENMUX_METRICS_TOKEN", "").strip()
    if raw and len(raw) < 16:  # the error never repeats the token
        raise ConfigError("ZENMUX_METRICS_TOKEN: too short (at least 16 characters; "
                          "e.g. openssl rand -hex 32)")
    return raw


def _nats_name(name: str, default: str, *, dots: bool) -> str:
    """A JetStream stream or consumer name (no dots), or a subject prefix (dot-separated
    tokens): printable ASCII without spaces or the wildcards ``*`` and ``>``."""
    raw = os.environ.get(name, "").strip() or default
    tokens = raw.split(".") if dots else [raw]
    ok = len(raw) <= 200 and all(
        t and all(33 <= ord(ch) < 127 and ch not in "*>." for ch in t) for t in tokens)
    if not ok:
        what = "a subject prefix like zenmux.usage" if dots else \
            "a name of letters, digits, - and _ (no dots, spaces or wildcards)"
        raise ConfigError(f"{name}: {raw!r} is not {what}")
    return raw


def _nats_url() -> str:
    from urllib.parse import urlsplit

    raw = os.environ.get("ZENMUX_NATS_URL", "").strip() or "nats://127.0.0.1:4222"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError("ZENMUX_NATS_URL: not a URL like nats://127.0.0.1:4222") from None
    if parts.scheme not in {"nats", "tls", "ws", "wss"} or not parts.hostname:
        raise ConfigError("ZENMUX_NATS_URL: expected a URL like nats://127.0.0.1:4222")
    return raw


def _mail_from() -> str:
    from email.utils import parseaddr

    raw = os.environ.get("ZENMUX_MAIL_FROM", "").strip() or "ZenMux <no-reply@zenmux.ai>"
    address = parseaddr(raw)[1]
    if "@" not in address or any(c in raw for c in "\r\n"):
        raise ConfigError(f"ZENMUX_MAIL_FROM: {raw!r} is not an address like "
                          "'ZenMux <no-reply@zenmux.ai>'")
    return raw


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process (cached; tests call ``settings.cache_clear()``)."""
    raw_now = os.environ.get("ZENMUX_NOW", "").strip()
    frozen = parse_instant(raw_now, field="ZENMUX_NOW") if raw_now else None
    clock_mode = os.environ.get("ZENMUX_CLOCK", "").strip().lower() or "frozen"
    if clock_mode not in {"frozen", "running"}:
        raise ConfigError(f"ZENMUX_CLOCK: expected frozen or running, got {clock_mode!r}")
    public_url = os.environ.get("ZENMUX_PUBLIC_URL", "http://localhost:3000").strip().rstrip("/")
    return Settings(
        database_url=_database_url(),
        frozen_now=frozen,
        clock_running=clock_mode == "running",
        fee_percent=_int("ZENMUX_FEE_PERCENT", 5, low=0, high=100),
        demo_mode=_flag("ZENMUX_DEMO", False),
        session_hours=_int("ZENMUX_SESSION_HOURS", 12, low=1, high=24 * 30),
        sandbox_settle_seconds=_int("ZENMUX_SANDBOX_SETTLE_SECONDS", 20, low=0, high=86_400),
        worker_interval_seconds=_int("ZENMUX_WORKER_INTERVAL_SECONDS", 2, low=1, high=3600),
        reconcile_after_seconds=_int("ZENMUX_RECONCILE_AFTER_SECONDS", 60, low=0, high=86_400),
        # Stripe retries an undelivered webhook for up to 3 days: by then no notification
        # will come, so a refund still Refunding is stuck. 72 h of inquiries at the default
        # reconcile interval (60 s) is 4,320; the count matters when the interval is short.
        stuck_after_inquiries=_int("ZENMUX_STUCK_AFTER_INQUIRIES", 4320, low=1,
                                   high=1_000_000),
        stuck_after_hours=_int("ZENMUX_STUCK_AFTER_HOURS", 72, low=1, high=24 * 365),
        usage_token=os.environ.get("ZENMUX_USAGE_TOKEN", ""),
        public_url=public_url,
        stripe_api_key=os.environ.get("STRIPE_API_KEY", ""),
        stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        stripe_api_base=os.environ.get("STRIPE_API_BASE", "").rstrip("/"),
        stripe_send_reason=_flag("STRIPE_SEND_REASON", True),
        antom_client_id=os.environ.get("ANTOM_CLIENT_ID", ""),
        antom_private_key_pem=_pem("ANTOM_PRIVATE_KEY"),
        antom_public_key_pem=_pem("ANTOM_PUBLIC_KEY"),
        antom_base_url=os.environ.get("ANTOM_BASE_URL",
                                      "https://open-sea-global.alipay.com").rstrip("/"),
        provider_timeout_seconds=_int("ZENMUX_PROVIDER_TIMEOUT_SECONDS", 10, low=1, high=120),
        business_email=os.environ.get("ZENMUX_BUSINESS_EMAIL", "").strip(),
        business_days_country=_country("ZENMUX_BUSINESS_DAYS_COUNTRY", "US"),
        allowed_origins=_origins(public_url),
        redis_url=os.environ.get("REFLEX_REDIS_URL", "").strip(),
        signin_max_failures=_int("ZENMUX_SIGNIN_MAX_FAILURES", 10, low=1, high=1000),
        signin_window_minutes=_int("ZENMUX_SIGNIN_WINDOW_MINUTES", 15, low=1, high=24 * 60),
        signin_lockout_minutes=_int("ZENMUX_SIGNIN_LOCKOUT_MINUTES", 15, low=1, high=24 * 60),
        signin_max_failures_per_address=_int("ZENMUX_SIGNIN_MAX_FAILURES_PER_ADDRESS", 50,
                                             low=1, high=100_000),
        antom_notify_tolerance_seconds=_int("ZENMUX_ANTOM_NOTIFY_TOLERANCE_SECONDS", 300,
                                            low=1, high=86_400),
        smtp=_smtp_target(),
        mail_from=_mail_from(),
        background_inline=_choice("ZENMUX_BACKGROUND", "inline", ("inline", "off")) == "inline",
        metrics_token=_metrics_token(),
        metrics_dir=_metrics_dir(),
        log_format=_choice("ZENMUX_LOG_FORMAT", "json", ("json", "console")),
        nats_url=_nats_url(),
        nats_configured=bool(os.environ.get("ZENMUX_NATS_URL", "").strip()),
        nats_stream=_nats_name("ZENMUX_NATS_STREAM", "ZENMUX_USAGE", dots=False),
        nats_subject_prefix=_nats_name("ZENMUX_NATS_SUBJECT_PREFIX", "zenmux.usage", dots=True),
        nats_durable=_nats_name("ZENMUX_NATS_DURABLE", "zenmux-usage", dots=False),
        nats_batch=_int("ZENMUX_NATS_BATCH", 1000, low=1, high=1000),
    )
