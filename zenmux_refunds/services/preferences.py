"""The customer's language and time zone: stored, checked, and read back as a Locale.

The language is the account's (``Account.language``: the switch in the header sets it
and every device and every e-mail follows it); the time zone is the browser's, on the
sign-in session (``AuthSession.time_zone``: a laptop in Shanghai and a phone abroad may
differ). Bad input is refused with a :class:`PreferenceError` that says why, and
nothing is changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.clock import real_now
from zenmux_refunds.i18n import ENGLISH, Locale, LocaleError, check_language, check_time_zone
from zenmux_refunds.models import Account, AuthSession
from zenmux_refunds.services import auth


class PreferenceError(ValueError):
    """A language, a time zone, an account or a session that cannot be used."""


def _live(session: AuthSession | None) -> bool:
    return session is not None and not session.revoked and session.expires_at > real_now()


def _session_row(s, session: str | int) -> AuthSession | None:
    """The session named by the browser's token (str) or by its row id (int)."""
    if isinstance(session, bool):
        return None
    if isinstance(session, int):
        return s.get(AuthSession, session)
    if isinstance(session, str) and session:
        return s.exec(select(AuthSession)
                      .where(AuthSession.token_hash == auth.session_key(session))).first()
    return None


def set_language(account_id: int, lang: str) -> str:
    """Remember ``lang`` ("en" or "zh-CN") for the account; returns it."""
    try:
        lang = check_language(lang)
    except LocaleError as exc:
        raise PreferenceError(str(exc)) from None
    with db.transaction() as s:
        account = s.get(Account, account_id) if type(account_id) is int else None
        if account is None:
            raise PreferenceError("no such account")
        account.language = lang
        s.add(account)
    return lang


def language_of(account_id: int) -> str:
    """The account's language ("en" when it has none we know)."""
    with db.reading() as s:
        account = s.get(Account, account_id)
    return _known_language(account.language if account else None)


def _known_language(lang: str | None) -> str:
    try:
        return check_language(lang)
    except LocaleError:
        return ENGLISH.lang


def _known_zone(tz: str | None) -> str:
    try:
        return check_time_zone(tz)
    except LocaleError:
        return ENGLISH.tz


def set_time_zone(session: str | int, tz: str) -> str:
    """Keep the browser's time zone (an IANA name: "Asia/Shanghai") on a live sign-in
    session, named by the browser's token or by its id; returns it."""
    try:
        tz = check_time_zone(tz)
    except LocaleError as exc:
        raise PreferenceError(str(exc)) from None
    with db.transaction() as s:
        row = _session_row(s, session)
        if not _live(row):
            raise PreferenceError("no such session: sign in again")
        row.time_zone = tz
        s.add(row)
    return tz


def locale_for(token: str | None) -> Locale:
    """The Locale of a browser's session: its account's language and its time zone
    (English in UTC for a token that signs nobody in)."""
    found = signed_in(token)
    return found[1] if found is not None else ENGLISH


def signed_in(token: str | None, *, within=None) -> tuple[Account, Locale] | None:
    """The account a browser token signs in and the Locale of that session, in one
    read: what ``auth.account_for_token`` and ``locale_for`` answer, for a handler
    that needs both (None: unknown, expired or revoked). ``within``: read inside that
    session's transaction (``auth.live_session``)."""
    found = auth.live_session(token, within=within)
    if found is None:
        return None
    account = found.account
    return account, Locale(_known_language(account.language), _known_zone(found.time_zone))


_SESSIONS = AuthSession.__table__
# Compiled once, sent on the caller's connection: read inside every approval's
# transaction (its mail), where the ORM's select would also flush the session first.
_LATEST_ZONE = (
    sa.select(_SESSIONS.c.time_zone)
    .where(_SESSIONS.c.account_id == sa.bindparam("account_id"),
           _SESSIONS.c.revoked == False,  # noqa: E712
           _SESSIONS.c.expires_at > sa.bindparam("now"))
    .order_by(_SESSIONS.c.created_at.desc(), _SESSIONS.c.id.desc())
    .limit(1)
)


def locale_of_account(s, account: Account) -> Locale:
    """The Locale an e-mail to ``account`` is written in, inside the caller's
    transaction ``s``: the account's language, and the time zone of its most recent
    live session (UTC when it has none: every time in a mail names its zone)."""
    latest = s.connection().execute(
        _LATEST_ZONE, {"account_id": account.id, "now": real_now()}).scalar()
    return Locale(_known_language(account.language), _known_zone(latest))
