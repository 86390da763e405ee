"""Security headers on every HTTP response of the app (pages, static assets, /ping,
/_health, /api/*): a strict Content-Security-Policy, X-Frame-Options, nosniff,
Referrer-Policy and, when the public URL is https, HSTS.

``SecurityHeaders`` is a pure ASGI middleware (no BaseHTTPMiddleware: it does not
buffer or re-wrap streaming responses, and WebSocket scopes pass through untouched).
It wraps the whole backend, the compiled frontend's static mount included
(``rx.App(api_transformer=[..., SecurityHeaders, ForwardedScheme])``).

``ForwardedScheme``, outermost: behind ``REFLEX_TRUSTED_PROXY_HOPS`` proxies that
terminate TLS (deploy/Caddyfile), a request's scheme is the one the client used, as
the trusted proxy says in ``X-Forwarded-Proto``. Without it, every absolute URL the
app builds (the frontend mount's ``/subscription`` → ``/subscription/`` redirect) says
``http://``: the browser leaves the https site, and refuses a sign-in form's redirect
there outright (CSP ``form-action 'self'``).

Scripts: never ``'unsafe-inline'``. Reflex's prerendered pages carry a few inline
``<script>`` blocks (React Router's hydration context and module bootstrap, the colour
mode script); for an HTML response the middleware reads the body (HTML pages are small
static files), hashes each inline script and lists the ``'sha256-…'`` values in
``script-src``. Results are cached by the body's hash, and by ETag so that a 304
revalidation carries the same policy as the page it revalidates. Styles need
``'unsafe-inline'``: emotion and Radix inject ``<style>`` elements at run time.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import zlib
from collections.abc import Iterable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zenmux_refunds.config import settings

HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_HAS_SRC = re.compile(rb"\bsrc\s*=", re.I)
_CACHE_MAX = 512


def _ws_form(origin: str) -> str:
    if origin.startswith("https://"):
        return "wss://" + origin[len("https://"):]
    return "ws://" + origin[len("http://"):]


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy; ``script_hashes`` are the ``'sha256-…'`` sources of a page's
    inline scripts."""
    origins = settings().allowed_origins
    connect = ["'self'", *origins, *(_ws_form(o) for o in origins)]
    script = ["'self'", *sorted(set(script_hashes))]
    return "; ".join([
        "default-src 'self'",
        "script-src " + " ".join(script),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src " + " ".join(dict.fromkeys(connect)),
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(csp: str | None = None) -> list[tuple[str, str]]:
    """The headers every response carries (``csp``: the page's own policy)."""
    headers = [
        ("Content-Security-Policy", csp or content_security_policy()),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ]
    if settings().https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def inline_script_hashes(html: bytes) -> list[str]:
    """``'sha256-…'`` of every inline ``<script>`` of an HTML document."""
    found = []
    for attributes, content in _INLINE_SCRIPT.findall(html):
        if _HAS_SRC.search(attributes):
            continue
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")
        found.append(f"'sha256-{digest}'")
    return found


def _decoded(body: bytes, encoding: str) -> bytes | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return brotli.decompress(body)
        if encoding == "zstd":
            import zstandard  # type: ignore[import-not-found]

            return zstandard.ZstdDecompressor().decompress(body)
    except Exception:  # noqa: BLE001 - an undecodable body gets the hash-less policy
        return None
    return None


def from_trusted_proxies(header: str, hops: int) -> str | None:
    """The value the outermost of ``hops`` trusted proxies wrote in a comma-separated
    forwarding header (``X-Forwarded-For``, ``X-Forwarded-Proto``): the ``hops``-th
    from the right, since each proxy appends and anything further left came from the
    client. None when there are no trusted proxies or too few values."""
    if hops <= 0:
        return None
    values = [v.strip() for v in header.split(",") if v.strip()]
    return values[-hops] if len(values) >= hops else None


_FORWARDED_SCHEMES = {("http", "https"): "https", ("http", "http"): "http",
                      ("websocket", "https"): "wss", ("websocket", "http"): "ws"}


class ForwardedScheme:
    """ASGI middleware: the scheme of a request is the one the client used, read from
    ``X-Forwarded-Proto`` as the trusted proxies (``REFLEX_TRUSTED_PROXY_HOPS``) wrote
    it; with no trusted proxy the header is ignored (a client could send anything)."""

    def __init__(self, app: ASGIApp, hops: int | None = None):
        if hops is None:
            from reflex.config import get_config

            hops = get_config().trusted_proxy_hops
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hops and scope["type"] in ("http", "websocket"):
            sent = _header(scope.get("headers") or [], b"x-forwarded-proto")
            proto = from_trusted_proxies(sent.decode("latin-1"), self.hops)
            scheme = _FORWARDED_SCHEMES.get((scope["type"], (proto or "").lower()))
            if scheme is not None and scheme != scope.get("scheme"):
                scope = {**scope, "scheme": scheme}
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware adding ``security_headers()`` to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self._by_body: dict[bytes, str] = {}
        self._by_etag: dict[bytes, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        held: Message | None = None
        parts: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = _header(headers, b"content-type")
                if content_type.startswith(b"text/html") and scope.get("method") != "HEAD" \
                        and message.get("status", 200) != 304:
                    held = {**message, "headers": headers}  # wait for the body
                    return
                csp = None
                if message.get("status") == 304:
                    csp = self._by_etag.get(_header(headers, b"etag"))
                await send({**message, "headers": _with(headers, csp,
                                                        omit_csp=message.get("status") == 304
                                                        and csp is None)})
                return
            if message["type"] == "http.response.pathsend" and held is not None:
                # The server sends the file itself (granian's pathsend extension); a
                # page is a small file: read it here to hash its scripts.
                parts.append(await anyio.Path(message["path"]).read_bytes())
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            if message["type"] == "http.response.body" and held is not None:
                parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(parts)
                headers = held["headers"]
                csp = self._page_policy(body, _header(headers, b"content-encoding"))
                etag = _header(headers, b"etag")
                if etag and csp:
                    _remember(self._by_etag, etag, csp)
                start, held = {**held, "headers": _with(headers, csp)}, None
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _page_policy(self, body: bytes, encoding: bytes) -> str | None:
        key = hashlib.sha256(encoding + b"\0" + body).digest()
        cached = self._by_body.get(key)
        if cached is None:
            html = _decoded(body, encoding.decode("latin-1"))
            if html is None:
                return None
            cached = content_security_policy(inline_script_hashes(html))
            _remember(self._by_body, key, cached)
        return cached


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return value.lower() if name != b"etag" else value
    return b""


def _with(headers: list[tuple[bytes, bytes]], csp: str | None, *,
          omit_csp: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` with ours set (replacing any the app set itself). A 304 whose page
    policy is unknown carries no CSP: browsers copy a 304's headers onto the cached
    page, and a hash-less policy would block the page's inline scripts."""
    ours = [(k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in security_headers(csp)
            if not (omit_csp and k == "Content-Security-Policy")]
    names = {k for k, _ in ours}
    return [(k, v) for k, v in headers if k.lower() not in names] + ours


def _remember(cache: dict, key, value: str) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
