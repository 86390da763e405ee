"""HTTP hardening, attacked over real HTTP and a raw WebSocket handshake against a
production build: security headers on every kind of response, a CSP that the real
frontend runs under without a single violation, CORS and the socket's Origin check
limited to the configured origins, and request bodies refused while they stream."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import expect

from tests.security.conftest import record_frames
from tests.support.appserver import USAGE_TOKEN

SERVER_ENV: dict[str, str] = {}  # http public URL, allowed origins = the server's own
EVIL = "https://evil.example"
MAX_BODY = 64 * 1024


def _client(server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=15, follow_redirects=False)


def _static_asset(server) -> str:
    """A JS file the sign-in page loads (a hashed asset under /assets/)."""
    html = httpx.get(f"{server.base_url}/sign-in/", timeout=15).text
    found = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', html)
    assert found, "no /assets/*.js referenced by /sign-in/"
    return found[0]


# ------------------------------------------------------------------ security headers


def _requests(server):
    return {
        "page": ("GET", "/sign-in/", {}),
        "static": ("GET", _static_asset(server), {}),
        "ping": ("GET", "/ping", {}),
        "health": ("GET", "/_health", {}),
        "api": ("POST", "/api/usage", {"content": b"{}"}),
        "not-found": ("GET", "/no-such-file.js", {}),
    }


def test_every_response_carries_the_security_headers(server):
    with _client(server) as client:
        for name, (method, path, kwargs) in _requests(server).items():
            r = client.request(method, path, **kwargs)
            h = r.headers
            assert h.get("x-frame-options") == "DENY", (name, dict(h))
            assert h.get("x-content-type-options") == "nosniff", (name, dict(h))
            assert h.get("referrer-policy") == "same-origin", (name, dict(h))
            csp = h.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in csp, (name, csp)
            assert "object-src 'none'" in csp, (name, csp)
            # The public URL is http here: no HSTS (it would pin a host to https).
            assert "strict-transport-security" not in h, (name, dict(h))


def test_page_csp_hashes_inline_scripts_instead_of_allowing_them(server):
    r = httpx.get(f"{server.base_url}/sign-in/", timeout=15)
    csp = r.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script_src = directives.get("script-src", "")
    assert script_src, csp
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, csp
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
    assert inline, "the page has no inline script: the test would prove nothing"
    assert script_src.count("'sha256-") >= len({s for s in inline}), csp


def test_the_real_frontend_runs_under_the_csp_without_violations(page, server):
    page.add_init_script("""
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', e => window.__csp.push(
            e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
    """)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    frames = record_frames(page)
    response = page.goto("/sign-in/")
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # Hydrated and connected: the socket delivered the page's state.
    deadline = time.monotonic() + 20
    while not any("_event" in f or "delta" in f for f in frames.received):
        assert time.monotonic() < deadline, "the page never got state over the socket"
        page.wait_for_timeout(200)
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__csp") == []
    assert not [c for c in console if "Content Security Policy" in c], console
    # The listener and the policy are live: an injected inline script is blocked.
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = 1'; document.body.appendChild(s); }""")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__injected") is None
    assert len(page.evaluate("window.__csp")) == 1


def test_the_not_found_page_gets_its_own_script_hashes(server):
    r = httpx.get(f"{server.base_url}/no-such-page/", timeout=15)
    assert "text/html" in r.headers.get("content-type", ""), r.headers
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
    assert inline
    csp = r.headers["content-security-policy"]
    assert csp.count("'sha256-") >= len(set(inline)), csp


def test_hsts_only_when_the_public_url_is_https(monkeypatch):
    from zenmux_refunds import config
    from zenmux_refunds.http_security import security_headers

    monkeypatch.setenv("ZENMUX_PUBLIC_URL", "https://refunds.zenmux.example")
    monkeypatch.delenv("ZENMUX_ALLOWED_ORIGINS", raising=False)
    config.settings.cache_clear()
    try:
        names = {k.lower(): v for k, v in security_headers()}
        assert names["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert "wss://refunds.zenmux.example" in names["content-security-policy"]
        monkeypatch.setenv("ZENMUX_PUBLIC_URL", "http://localhost:3000")
        config.settings.cache_clear()
        assert "strict-transport-security" not in {k.lower() for k, _ in security_headers()}
    finally:
        config.settings.cache_clear()


# ------------------------------------------------------------------ CORS


def test_cors_does_not_reflect_a_foreign_origin(server):
    allowed = server.base_url
    with _client(server) as client:
        for method, path in (("OPTIONS", "/api/usage"), ("OPTIONS", "/ping"),
                             ("GET", "/ping"), ("POST", "/api/usage")):
            headers = {"Origin": EVIL, "Access-Control-Request-Method": "POST",
                       "Access-Control-Request-Headers": "authorization"}
            r = client.request(method, path, headers=headers)
            assert r.headers.get("access-control-allow-origin") not in (EVIL, "*"), \
                (method, path, dict(r.headers))
        ok = client.get("/ping", headers={"Origin": allowed})
        assert ok.headers.get("access-control-allow-origin") == allowed, dict(ok.headers)


# ------------------------------------------------------------------ WebSocket Origin


def _ws_handshake(server, origin: str) -> str:
    """The status line the server answers to a WebSocket upgrade of Reflex's socket."""
    parts = urlsplit(server.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall((f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
                   f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def test_websocket_refuses_a_foreign_origin(server):
    assert " 101 " in _ws_handshake(server, server.base_url) + " "  # control
    status = _ws_handshake(server, EVIL)
    assert " 101" not in status, status


# ------------------------------------------------------------------ body size


def _post_partial(server, headers: list[str], chunks: list[bytes], wait_s: float = 6):
    """Send a request's headers and part of its body, never finish it, and return what
    the server answered within ``wait_s`` (b"" if nothing)."""
    parts = urlsplit(server.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait_s) as s:
        head = (f"POST /api/usage HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Authorization: Bearer {USAGE_TOKEN}\r\nContent-Type: application/json\r\n"
                + "".join(h + "\r\n" for h in headers) + "\r\n")
        s.sendall(head.encode())
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except OSError:
                break
        data = b""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                got = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                break
            if not got:
                break
            data += got
            if b"\r\n\r\n" in data and b"}" in data:
                break
    return data


def _assert_413(answer: bytes) -> None:
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/json" in answer and b"too large" in answer, answer


def test_chunked_body_over_the_limit_is_refused_while_streaming(server):
    piece = b"x" * 16384
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    started = time.monotonic()
    answer = _post_partial(server, ["Transfer-Encoding: chunked"], [chunk] * 20)  # 320 KB
    _assert_413(answer)
    assert time.monotonic() - started < 5


def test_huge_content_length_is_refused_at_once(server):
    answer = _post_partial(server, ["Content-Length: 50000000"], [b"x" * 100_000])
    _assert_413(answer)


def test_content_length_just_over_the_limit_is_refused(server):
    answer = _post_partial(server, [f"Content-Length: {MAX_BODY + 1}"], [b"{"])
    _assert_413(answer)


def test_a_body_under_the_limit_still_works(server):
    r = httpx.post(f"{server.base_url}/api/usage", content=b"{}",
                   headers={"Authorization": f"Bearer {USAGE_TOKEN}"}, timeout=15)
    assert r.status_code == 400 and r.json()["error"].startswith("call_id"), r.text
