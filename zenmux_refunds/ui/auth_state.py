"""The signed-in account, as every page's state sees it.

The session is an HttpOnly cookie that only the sign-in endpoints set (auth_api.py).
The states read it on the server from the WebSocket handshake's headers
(``self.router.headers.cookie``; a page load opens a new socket) and resolve it through
the auth service at every event. Page states inherit from ``AuthState`` and call
``self.signed_in_account()`` at the top of each handler, so nothing a browser sends can
act for another account.

``SessionGuard`` (ui/session_guard.py) runs before every event, hydration included:
when the session it resolves differs from the one the tab's states were filled for
(sign-out, expiry, another sign-in, a stolen tab token with no cookie), every per-user
state is reset before anything is sent to the browser. What it resolved answers the
same event's first session check (``signed_in_account`` or ``signed_in``) instead of a
second read of the session a moment later; any further check in that event reads again.
"""

from __future__ import annotations

import contextvars
import logging

import reflex as rx

from zenmux_refunds.config import settings
from zenmux_refunds.i18n import DEFAULT_LANGUAGE, Locale, LocaleError, check_language, gettext
from zenmux_refunds.models import Account
from zenmux_refunds.services import auth, preferences
from zenmux_refunds.session_cookie import token_from_cookie_header

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = "/sign-in"
HOME_ROUTE = "/subscription"

# What SessionGuard resolved for the event being processed: (token, its account and
# Locale, or None). Each event runs in an asyncio task of its own and the guard sets
# this at the start of every one, before the handler: a value is never another event's.
_GUARD_RESOLVED: contextvars.ContextVar[tuple[str, tuple[Account, Locale] | None] | None] = (
    contextvars.ContextVar("zenmux_guard_resolved", default=None))


def guard_resolved(token: str, found: tuple[Account, Locale] | None) -> None:
    """SessionGuard: the session ``token`` resolved to ``found`` for this event."""
    _GUARD_RESOLVED.set((token, found))


def _take_guard_resolved(token: str) -> tuple[bool, tuple[Account, Locale] | None]:
    """(True, what the guard resolved) for the event's first check of the same token,
    else (False, None): once taken, later checks in the event read the session again."""
    resolved = _GUARD_RESOLVED.get()
    if resolved is None:
        return False, None
    _GUARD_RESOLVED.set(None)
    return (True, resolved[1]) if resolved[0] == token else (False, None)


class AuthState(rx.State):
    account_name: str = ""
    account_email: str = ""
    account_role: str = ""
    # a visitor who is not signed in, on a public page (the policy): the header shows a
    # Sign in link instead of the account. False by default, so a signed-in page never
    # flashes "Sign in" while it loads.
    visitor: bool = False
    demo_mode: bool = settings().demo_mode
    # the page's language: the account's (remembered), or what a visitor picked
    lang: str = DEFAULT_LANGUAGE
    # Which session the per-user states of this tab were filled for ("" = nobody).
    _owner: str = ""

    def session_token(self) -> str:
        """The session token of this tab's socket (from its handshake's cookies)."""
        return token_from_cookie_header(self.router.headers.cookie)

    def signed_in_account(self) -> Account | None:
        """Resolve the session token now (never trust what was resolved before): the
        event's first check takes what SessionGuard resolved for this same event."""
        found = self.signed_in()
        return found[0] if found is not None else None

    def signed_in(self) -> tuple[Account, Locale] | None:
        """The signed-in account and the session's Locale (what ``locale()`` gives) in
        one read of the session, resolved now like ``signed_in_account``."""
        token = self.session_token()
        taken, found = _take_guard_resolved(token)
        if not taken:
            found = preferences.signed_in(token)
        self._show_account(found[0] if found is not None else None)
        return found

    def _show_account(self, account: Account | None) -> None:
        """Show the account in the header. Only values that changed are assigned: an
        assignment marks the var dirty even when the value is the same, and a delta
        that carries AuthState re-renders every component that reads it in the
        browser (every translated word reads ``lang``) — at every event otherwise."""
        if account is None:
            shown = {"account_name": "", "account_email": "", "account_role": ""}
        else:
            try:
                lang = check_language(account.language)
            except LocaleError:
                lang = DEFAULT_LANGUAGE
            shown = {"account_name": account.name, "account_email": account.email,
                     "account_role": account.role, "visitor": False, "lang": lang}
        for name, value in shown.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def locale(self) -> Locale:
        """The language and time zone the services write this tab's words in: the
        account's language, the session's (the browser's) time zone."""
        return preferences.locale_for(self.session_token())

    def say(self, msgid: str) -> str:
        """A message the server sets (an error, a notice) in the page's language."""
        return gettext(msgid, self.lang)

    def _reload(self):
        """Reload the page (its on_load runs again), so the services' words follow."""
        return rx.redirect(self.router.url.path or HOME_ROUTE, replace=True)

    @rx.event
    def choose_language(self, lang: str):
        """The header's language switch: remembered on the account when signed in."""
        try:
            lang = check_language(lang)
        except LocaleError:
            return None
        account = self.signed_in_account()
        self.lang = lang
        if account is None:
            return None  # a visitor: the page's own words switch at once
        preferences.set_language(account.id, lang)
        return self._reload()

    @rx.event
    def report_time_zone(self, tz: str):
        """The browser says its time zone (``Intl``) when a page mounts; kept on the
        session, and the page reloaded once if it changed."""
        token = self.session_token()
        if not token or not isinstance(tz, str):
            return None
        if preferences.locale_for(token).tz == tz:
            return None
        try:
            preferences.set_time_zone(token, tz)
        except preferences.PreferenceError as exc:
            log.info("time zone not kept: %s", exc)
            return None
        return self._reload()

    @rx.var
    def is_support(self) -> bool:
        return self.account_role == auth.SUPPORT

    @rx.event
    def load_public_page(self):
        """on_load of a public page (the policy): shows who is signed in, if anyone;
        never redirects."""
        self.visitor = self.signed_in_account() is None

    @rx.event
    def require_customer_page(self):
        """on_load of every signed-in page: no session, no page."""
        if self.signed_in_account() is None:
            return rx.redirect(SIGN_IN_ROUTE)
