"""The session cookie's name and how to read it from a ``Cookie:`` header: shared by the
HTTP endpoints that set it (auth_api.py) and the Reflex states that resolve it from the
WebSocket handshake (ui/auth_state.py)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from zenmux_refunds.config import settings


def cookie_name() -> str:
    """``__Host-`` prefixed on https: the browser then insists on Secure, Path=/ and no
    Domain, so no sibling host can plant or shadow it."""
    return "__Host-zenmux_session" if settings().https else "zenmux_session"


def token_from_cookie_header(header: str | None) -> str:
    """The session token in a ``Cookie:`` header, or "" (malformed headers included)."""
    if not header or len(header) > 16_384:
        return ""
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return ""
    morsel = jar.get(cookie_name())
    return morsel.value if morsel is not None else ""
