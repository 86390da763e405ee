"""Finding 5: the session cookie is out of scripts' reach, rotates at every sign-in and
dies at sign-out. Before the fix it was set by a Reflex event with httpOnly=false."""

from __future__ import annotations

import os
import subprocess
import sys

from playwright.sync_api import BrowserContext, Page, expect

from tests.security.conftest import sign_in_with_password
from tests.support.appserver import PROJECT_ROOT

SERVER_ENV: dict[str, str] = {}
ALICE = ("alice@example.com", "alice-demo-pass")


def _session_cookies(context: BrowserContext) -> list[dict]:
    return [c for c in context.cookies() if "zenmux_session" in c["name"]]


def test_the_session_cookie_is_httponly_and_strict(context: BrowserContext, page: Page, server):
    sign_in_with_password(page, *ALICE)
    page.wait_for_url("**/subscription{,/}")
    expect(page.locator("#account-name")).to_have_text("Alice Chen")
    [cookie] = _session_cookies(context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # http public URL: see the https case below
    assert cookie["value"] not in page.evaluate("document.cookie")


def test_sign_in_rotates_and_sign_out_revokes(context: BrowserContext, page: Page, server):
    sign_in_with_password(page, *ALICE)
    page.wait_for_url("**/subscription{,/}")
    [first] = _session_cookies(context)
    # again, from the same browser (its cookie jar), as the sign-in form would post
    again = page.request.post(f"{server.base_url}/api/auth/sign-in",
                              form={"email": ALICE[0], "password": ALICE[1]},
                              headers={"Origin": server.base_url}, max_redirects=0)
    assert again.status == 303
    page.goto("/subscription")
    expect(page.locator("#account-name")).to_have_text("Alice Chen")
    [second] = _session_cookies(context)
    assert second["value"] != first["value"]
    assert server.rows("select count(*) from authsession where revoked") == [(1,)]
    page.locator("#sign-out").click()
    page.wait_for_url("**/sign-in{,/}")
    assert _session_cookies(context) == []
    assert server.rows("select count(*) from authsession where not revoked") == [(0,)]
    # the old cookie, replayed, opens nothing
    context.add_cookies([second])
    page.goto("/subscription")
    page.wait_for_url("**/sign-in{,/}")


def test_on_https_the_cookie_is_secure_and_host_prefixed(tmp_path):
    """The sign-in endpoint itself, with an https public URL (a second server just for
    TLS would prove no more: the attributes are the endpoint's)."""
    code = r'''
import sys
from starlette.testclient import TestClient
from zenmux_refunds import api
from zenmux_refunds.services import scenarios
scenarios.load("example")
client = TestClient(api.build(), base_url="https://zenmux.example")
answer = client.post("/api/auth/sign-in", data={"email": "alice@example.com",
                     "password": "alice-demo-pass"}, follow_redirects=False)
print(answer.status_code)
print(answer.headers["set-cookie"])
'''
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'https.db'}",
           "ZENMUX_PUBLIC_URL": "https://zenmux.example", "ZENMUX_NOW": "2026-11-26T12:00:00Z"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    status, cookie = done.stdout.strip().splitlines()[-2:]
    assert status == "303"
    assert cookie.startswith("__Host-zenmux_session=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes


def test_a_sign_in_post_from_another_site_is_refused(page: Page, server):
    answer = page.request.post(f"{server.base_url}/api/auth/sign-in",
                               form={"email": ALICE[0], "password": ALICE[1]},
                               headers={"Origin": "https://evil.example"}, max_redirects=0)
    assert answer.status == 403
    assert "set-cookie" not in answer.headers
    assert server.rows("select count(*) from authsession") == [(0,)]


def test_an_oversized_sign_in_post_is_refused_cleanly(page: Page, server):
    """A form declared over 4 KiB is read no further: back to the sign-in page with a
    message, no session. (A Content-Length that is not a number never reaches the app:
    the HTTP server answers 400 itself.)"""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(server.base_url)
    for headers, body in (({"Content-Length": "9999999"}, b"email=a"),):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        conn.putrequest("POST", "/api/auth/sign-in")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        answer = conn.getresponse()
        assert answer.status == 303, answer.status
        assert answer.getheader("location").endswith("error=invalid")
        conn.close()
    assert server.rows("select count(*) from authsession") == [(0,)]
