"""Sign-in, one-click demo sign-in and sign-out as plain HTTP form posts.

The session lives in an ``HttpOnly; SameSite=Strict`` cookie (``Secure``, and named
with the ``__Host-`` prefix, when the public URL is https) that only these endpoints
set: no script in the page can read it. The Reflex states read it on the server from the
WebSocket handshake (ui/auth_state.py), so after these endpoints answer, the browser
loads a page afresh and its new socket carries the new cookie.

Every post must come from one of the allowed origins (a login CSRF is refused), its
body is read with a small limit while streaming, and argon2 runs in a thread, never on
the event loop. Failures redirect back to the sign-in page with a short code that the
page turns into words; nothing the client sent is echoed."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from zenmux_refunds.config import settings
from zenmux_refunds.http_body import read_limited
from zenmux_refunds.http_security import from_trusted_proxies
from zenmux_refunds.i18n import DEFAULT_LANGUAGE, gettext, translate
from zenmux_refunds.services import auth
from zenmux_refunds.session_cookie import cookie_name, token_from_cookie_header

log = logging.getLogger(__name__)

SIGN_IN_PATH = "/api/auth/sign-in"
PERSONA_PATH = "/api/auth/persona"
SIGN_OUT_PATH = "/api/auth/sign-out"
HOME = "/subscription"
SUPPORT_HOME = "/support"
SIGN_IN_PAGE = "/sign-in"
MAX_FORM_BYTES = 4096
# argon2 runs here, one check at a time, off the event loop and out of the default
# executor that the rest of the app (database checks, /_health) relies on: a flood of
# guesses queues behind this one thread instead of starving everything else.
_PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def _off_loop(fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PASSWORD_CHECKS, lambda: fn(*args, **kwargs))


def _origin_ok(request: Request) -> bool:
    """A browser always sends Origin on a form post; when it names another site, refuse.
    (No Origin at all: not a browser, so not a cross-site request.)"""
    origin = request.headers.get("origin")
    return origin is None or origin.lower() in settings().allowed_origins


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded form, or None when it is too large or not text."""
    body = await read_limited(request, MAX_FORM_BYTES)
    if body is None:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


def client_address(request: Request) -> str:
    """The client's address; behind ``REFLEX_TRUSTED_PROXY_HOPS`` proxies, the address
    those proxies saw (the same rule Reflex applies to the WebSocket)."""
    from reflex.config import get_config

    forwarded = from_trusted_proxies(request.headers.get("x-forwarded-for", ""),
                                     get_config().trusted_proxy_hops)
    return forwarded or (request.client.host if request.client else "")


async def _signed_in(token: str) -> Response:
    """The answer to a successful sign-in: the session cookie, and the account's home —
    the support console for support (what they work in), Subscription for customers."""
    account = await _off_loop(auth.account_for_token, token)
    home = SUPPORT_HOME if account is not None and account.role == auth.SUPPORT else HOME
    response = RedirectResponse(home, status_code=303)
    response.set_cookie(cookie_name(), token, max_age=settings().session_hours * 3600,
                        path="/", secure=settings().https, httponly=True, samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(code: str, **extra) -> Response:
    response = RedirectResponse(f"{SIGN_IN_PAGE}?{urlencode({'error': code, **extra})}",
                                status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(request: Request) -> Response | None:
    if not _origin_ok(request):
        log.warning("auth post refused: foreign origin")
        return JSONResponse({"error": "origin not allowed"}, status_code=403)
    return None


async def sign_in(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    form = await _form(request)
    if form is None:
        return _back("invalid")
    previous = token_from_cookie_header(request.headers.get("cookie"))
    try:
        token = await _off_loop(
            auth.sign_in, form.get("email", ""), form.get("password", ""),
            address=client_address(request), replaces=previous or None)
    except auth.SignInLocked as exc:
        return _back("locked", minutes=exc.minutes)
    except auth.SignInIncomplete:
        return _back("missing")
    except auth.SignInError:
        return _back("wrong")
    return await _signed_in(token)


async def persona(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    if not settings().demo_mode:
        log.warning("one-click sign-in refused: demo mode is off")
        return _back("no-demo")
    form = await _form(request)
    if form is None:
        return _back("invalid")
    previous = token_from_cookie_header(request.headers.get("cookie"))
    try:
        token = await _off_loop(auth.sign_in_persona, form.get("ref", ""),
                                replaces=previous or None)
    except auth.SignInError:
        return _back("no-persona")
    return await _signed_in(token)


async def sign_out(request: Request) -> Response:
    if (refused := _refused(request)) is not None:
        return refused
    token = token_from_cookie_header(request.headers.get("cookie"))
    if token:
        await asyncio.to_thread(auth.sign_out, token)
    response = RedirectResponse(SIGN_IN_PAGE, status_code=303)
    response.delete_cookie(cookie_name(), path="/", secure=settings().https, httponly=True,
                           samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    return response


# What the sign-in page says for each code (never text from the request).
MESSAGES = {
    "wrong": "Wrong e-mail or password.",
    "missing": "Enter your e-mail and password.",
    "invalid": "That sign-in request could not be read. Please try again.",
    "no-demo": "One-click sign-in is only available in demo mode.",
    "no-persona": "No such demo persona.",
}


def message_for(code: str, minutes: str = "", lang: str = DEFAULT_LANGUAGE) -> str:
    """The sign-in page's words for a refusal code, in ``lang``."""
    if code == "locked":
        n = int(minutes) if minutes.isascii() and minutes.isdigit() and len(minutes) < 5 else 15
        n = max(n, 1)
        template = ("Too many sign-in attempts — try again in {minutes} minute." if n == 1 else
                    "Too many sign-in attempts — try again in {minutes} minutes.")
        return translate(template, lang, minutes=n)
    return gettext(MESSAGES[code], lang) if code in MESSAGES else ""


def routes() -> list[Route]:
    return [
        Route(SIGN_IN_PATH, sign_in, methods=["POST"]),
        Route(PERSONA_PATH, persona, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ]
