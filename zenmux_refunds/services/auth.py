"""Sign-in: argon2 password hashes and server-side sessions.

The browser keeps only a random token; the database keeps its SHA-256, the account
and the expiry. Every page and every event resolves the token again here, so a
signed-out, expired or forged token is worth nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from zenmux_refunds import db
from zenmux_refunds.clock import real_now
from zenmux_refunds.config import settings
from zenmux_refunds.models import Account, AuthSession
from zenmux_refunds.services import throttle

log = logging.getLogger(__name__)

CUSTOMER = "customer"
SUPPORT = "support"
ROLES = (CUSTOMER, SUPPORT)

_hasher = PasswordHasher()
# A hash to verify against when the e-mail is unknown, so that both cases take as long.
_DUMMY_HASH = _hasher.hash("not-a-password")


class SignInError(ValueError):
    """Wrong e-mail or password (deliberately not saying which)."""


class SignInIncomplete(SignInError):
    """The e-mail or the password is missing."""


class SignInLocked(SignInError):
    """Too many failures: every attempt is refused for ``minutes`` more."""

    def __init__(self, minutes: int):
        self.minutes = minutes
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many sign-in attempts — try again in {minutes} {unit}.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _open_session(session: Session, account: Account) -> str:
    token = secrets.token_urlsafe(32)
    now = real_now()
    session.add(
        AuthSession(
            token_hash=_token_hash(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + timedelta(hours=settings().session_hours),
        )
    )
    return token


MAX_EMAIL = 320
MAX_PASSWORD = 1024


def sign_in(email: str, password: str, *, address: str = "", replaces: str | None = None) -> str:
    """Check the credentials and open a session; return the browser's token.

    Throttled per e-mail and per client ``address`` (services/throttle.py): a locked
    e-mail is refused before its password is checked, so the right password does not
    help during a lock. ``replaces`` is the browser's previous token, revoked here (the
    session rotates at every sign-in). Blocking (argon2): call it off the event loop.
    """
    email = (email or "").strip().lower()
    if not email or not password:
        raise SignInIncomplete("Enter your e-mail and password.")
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        raise SignInError("Wrong e-mail or password.")
    limiter = throttle.throttle()
    if (refusal := limiter.refusal(email, address)) is not None:
        log.warning("sign-in refused: throttled (%s more minutes)", refusal.minutes)
        raise SignInLocked(refusal.minutes)
    with db.reading() as session:
        account = session.exec(select(Account).where(Account.email == email)).first()
    ok = verify_password(account.password_hash if account else _DUMMY_HASH, password)
    if account is None or not ok:
        if (refusal := limiter.failed(email, address)) is not None:
            log.warning("sign-in: an e-mail is locked for %s minutes after repeated failures",
                        refusal.minutes)
            raise SignInLocked(refusal.minutes)
        raise SignInError("Wrong e-mail or password.")
    limiter.succeeded(email)
    return _rotate(account, replaces)


def _rotate(account: Account, replaces: str | None) -> str:
    with db.transaction() as session:
        if replaces:
            _revoke(session, replaces)
        return _open_session(session, account)


def sign_in_persona(account_ref: str, *, replaces: str | None = None) -> str:
    """Demo mode only: one-click sign-in as an account the loaded scenario marks as a
    demo persona (never any other account, whatever ref the browser sends)."""
    if not settings().demo_mode:
        raise SignInError("One-click sign-in is only available in demo mode.")
    ref = str(account_ref or "")[:200]
    with db.reading() as session:
        account = session.exec(select(Account).where(Account.ref == ref)).first()
    if account is None or not account.demo_persona:
        raise SignInError("No such demo persona.")
    return _rotate(account, replaces)


def demo_personas() -> list[Account]:
    """The accounts one-click sign-in offers (none unless demo mode is on)."""
    if not settings().demo_mode:
        return []
    with db.reading() as session:
        return list(session.exec(
            select(Account).where(Account.demo_persona == True)  # noqa: E712
            .order_by(Account.id)).all())


class LiveSession(NamedTuple):
    account: Account
    time_zone: str | None  # the browser's zone, as the session recorded it


# One statement, compiled once: the session's state and its account's columns. Read on
# every event a tab sends (ui/session_guard.py), so through SQLAlchemy Core: the ORM's
# per-query work cost ~4x the statement itself (benchmarks/confirm_latency.py).
_SESSION, _ACCOUNT = AuthSession.__table__, Account.__table__
_LIVE_SESSION = (
    sa.select(_SESSION.c.revoked, _SESSION.c.expires_at, _SESSION.c.time_zone,
              *_ACCOUNT.c)
    .join_from(_SESSION, _ACCOUNT, _ACCOUNT.c.id == _SESSION.c.account_id)
    .where(_SESSION.c.token_hash == sa.bindparam("token_hash"))
)
_ACCOUNT_COLUMNS = tuple(_ACCOUNT.c.keys())  # the row's columns after the session's three
_ACCOUNT_MAPPER = sa.inspect(Account)


def _detached_account(values) -> Account:
    """An Account from its column values, made as the ORM makes a row it loads (its
    values straight into the instance's dict, then detached): the model's constructor
    sets each attribute through pydantic and the ORM's events, ~6x the cost, on every
    event a tab sends. The constructor, or any query, would also have configured the
    mappers, which a server worker's first event may find not done yet."""
    if not _ACCOUNT_MAPPER.configured:
        _ACCOUNT_MAPPER.registry.configure(cascade=True)
    account = _ACCOUNT_MAPPER.class_manager.new_instance()
    account.__dict__.update(zip(_ACCOUNT_COLUMNS, values))
    make_transient_to_detached(account)
    return account


def live_session(token: str | None, *, within: Session | None = None) -> LiveSession | None:
    """The live session a browser token names: its account (detached, as a read
    session would give it) and its time zone, in one read; None when the token is
    unknown, expired or revoked. ``within``: read in that session's transaction
    (what it sees, on its connection) instead of a connection of its own."""
    if not token:
        return None
    params = {"token_hash": _token_hash(token)}
    if within is not None:
        row = within.connection().execute(_LIVE_SESSION, params).first()
    else:
        with db.engine(readonly=True).connect() as conn:
            row = conn.execute(_LIVE_SESSION, params).first()
    if row is None:
        return None
    revoked, expires_at, time_zone = row[:3]
    if revoked or expires_at <= real_now():
        return None
    return LiveSession(_detached_account(row[3:]), time_zone)


def account_for_token(token: str | None) -> Account | None:
    """The account a browser token signs in, or None (unknown, expired or revoked)."""
    found = live_session(token)
    return found.account if found is not None else None


def _revoke(session: Session, token: str) -> None:
    auth = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if auth is not None and not auth.revoked:
        auth.revoked = True
        session.add(auth)


def sign_out(token: str | None) -> None:
    """Revoke the session server-side: the token is worth nothing from now on."""
    if not token:
        return
    with db.transaction() as session:
        _revoke(session, token)


def session_key(token: str | None) -> str:
    """A stable, non-secret name of a browser token (its SHA-256), or ""."""
    return _token_hash(token) if token else ""


def require_role(token: str | None, role: str) -> Account:
    """The signed-in account if it has ``role``; PermissionError otherwise (logged)."""
    account = account_for_token(token)
    if account is None or account.role != role:
        log.warning("refused: %s role needed, token resolves to %s", role,
                    account.email if account else "nobody")
        raise PermissionError(f"{role} role required")
    return account


def account_with_role(account_id: int | None, role: str) -> Account:
    """The account re-read from the database if it has ``role``; PermissionError
    otherwise (the second check of every support service, whoever calls it)."""
    account = None
    if account_id is not None:
        with db.reading() as session:
            account = session.get(Account, account_id)
    if account is None or account.role != role:
        log.warning("refused: %s role needed, account %s has %s", role, account_id,
                    account.role if account else "no account")
        raise PermissionError(f"{role} role required")
    return account
