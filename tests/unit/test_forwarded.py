"""Behind REFLEX_TRUSTED_PROXY_HOPS proxies that terminate TLS, the app sees the scheme
and the address the client used, as the trusted proxy wrote them, and nothing a client
wrote itself (``http_security.ForwardedScheme``, ``auth_api.client_address``).

Before ForwardedScheme, the compiled frontend's directory redirect (/sign-in →
/sign-in/) said ``http://`` behind Caddy: the browser left the https site, and Chromium
refused the demo sign-in's redirect there (CSP form-action); see test_behind_caddy."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from zenmux_refunds.http_security import ForwardedScheme, from_trusted_proxies


@pytest.mark.parametrize(("header", "hops", "expected"), [
    ("https", 1, "https"),
    ("203.0.113.9", 1, "203.0.113.9"),
    ("6.6.6.6, 203.0.113.9", 1, "203.0.113.9"),  # the client's own claim stays left
    ("6.6.6.6, 203.0.113.9, 10.0.0.2", 2, "203.0.113.9"),
    ("203.0.113.9", 2, None),  # fewer values than proxies: not trusted
    ("https", 0, None),  # no trusted proxy: whatever the client sent is ignored
    ("", 1, None),
    (" , ", 1, None),
])
def test_the_value_the_outermost_trusted_proxy_wrote(header, hops, expected):
    assert from_trusted_proxies(header, hops) == expected


def _site(tmp_path, hops: int):
    (tmp_path / "sign-in").mkdir()
    (tmp_path / "sign-in" / "index.html").write_text("<p>sign in</p>")
    inner = Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])
    return ForwardedScheme(inner, hops=hops)


def _location(app, headers: dict) -> str:
    async def get():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://refunds.example") as c:
            return await c.get("/sign-in", headers=headers)

    resp = asyncio.run(get())
    assert resp.status_code == 307
    return resp.headers["location"]


def test_a_redirect_behind_the_tls_proxy_stays_on_https(tmp_path):
    app = _site(tmp_path, hops=1)
    assert _location(app, {"X-Forwarded-Proto": "https"}) == \
        "https://refunds.example/sign-in/"
    # the proxy says the client came over http: so be it
    assert _location(app, {"X-Forwarded-Proto": "http"}) == \
        "http://refunds.example/sign-in/"
    # a client's own "https" left of what the proxy wrote changes nothing
    assert _location(app, {"X-Forwarded-Proto": "https, http"}) == \
        "http://refunds.example/sign-in/"
    # nonsense is ignored
    assert _location(app, {"X-Forwarded-Proto": "gopher"}) == \
        "http://refunds.example/sign-in/"


def test_without_a_trusted_proxy_the_header_is_ignored(tmp_path):
    app = _site(tmp_path, hops=0)
    assert _location(app, {"X-Forwarded-Proto": "https"}) == \
        "http://refunds.example/sign-in/"


def test_a_websocket_behind_the_tls_proxy_is_wss():
    seen = {}

    async def inner(scope, receive, send):
        seen["scheme"] = scope["scheme"]

    scope = {"type": "websocket", "scheme": "ws", "path": "/_event",
             "headers": [(b"x-forwarded-proto", b"https")]}
    asyncio.run(ForwardedScheme(inner, hops=1)(scope, None, None))
    assert seen["scheme"] == "wss"
    asyncio.run(ForwardedScheme(inner, hops=0)(scope, None, None))
    assert seen["scheme"] == "ws"
