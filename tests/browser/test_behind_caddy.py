"""Only in the production shape (``scripts/test-production``): the app behind Caddy with
``deploy/Caddyfile`` itself, as a customer reaches it. Debian's Caddy (``scripts/test``
installs it) adapts the file, and the test changes only what a test machine must: the
upstream's port, an internal CA in place of Let's Encrypt (no network), the state and
access log in a temporary directory, no admin endpoint. Every route, header and proxy
setting is the shipped file's.

Chromium resolves refunds.zenmux.example to 127.0.0.1 and talks HTTPS to Caddy on 443
(Reflex's page opens its WebSocket on the page's own host at the default port, as it
does in production), against an app started with the deployed settings:
``ZENMUX_PUBLIC_URL=https://refunds.zenmux.example`` and ``REFLEX_TRUSTED_PROXY_HOPS=1``.
Caddy binds 80 and 443: CI runs as root; elsewhere the test says why it cannot run."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, sign_in_as
from tests.support.appserver import METRICS_TOKEN, PROJECT_ROOT, production_shape, running_app

pytestmark = pytest.mark.skipif(not production_shape(),
                                reason="the production shape only (scripts/test-production)")

HOST = "refunds.zenmux.example"
CADDYFILE = PROJECT_ROOT / "deploy" / "Caddyfile"


def _bindable(port: int) -> str | None:
    """None if this process may listen on ``port``, else why not."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            return f"port {port}: {exc.strerror}"
    return None


def _test_config(app_port: int, state: Path) -> dict:
    """deploy/Caddyfile adapted by Caddy, then pointed at this test's app and state."""
    adapted = subprocess.run(
        ["caddy", "adapt", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True, text=True, check=True)
    config = json.loads(adapted.stdout)
    dials = []

    def repoint(node):
        if isinstance(node, dict):
            if node.get("handler") == "reverse_proxy":
                for upstream in node["upstreams"]:
                    dials.append(upstream["dial"])
                    upstream["dial"] = f"127.0.0.1:{app_port}"
            for value in node.values():
                repoint(value)
        elif isinstance(node, list):
            for value in node:
                repoint(value)

    repoint(config["apps"]["http"])
    assert dials == ["127.0.0.1:8000"], dials  # the shipped file proxies to the app's port
    [policy] = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == [HOST]
    policy["issuers"] = [{"module": "internal"}]
    config["apps"]["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    config["storage"] = {"module": "file_system", "root": str(state / "data")}
    config["admin"] = {"disabled": True}
    [writer] = [log["writer"] for log in config["logging"]["logs"].values() if "writer" in log]
    assert writer["filename"] == "/var/log/caddy/zenmux-access.log"
    writer["filename"] = str(state / "access.log")
    return config


def _request(url: str, headers: dict | None = None) -> tuple[int, dict, str]:
    """GET ``url`` on 127.0.0.1 (the scheme and port of ``url``) with Host: HOST; no
    redirects followed. (status, headers, body)."""
    from urllib.parse import urlsplit

    import http.client

    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", parts.port or 443, timeout=10,
                                           context=context)
        # SNI names the site, as a browser would
        conn.sock = context.wrap_socket(socket.create_connection(("127.0.0.1", parts.port
                                                                  or 443), timeout=10),
                                        server_hostname=HOST)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=10)
    try:
        conn.request("GET", parts.path or "/", headers={"Host": HOST, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def behind_caddy(tmp_path_factory):
    if shutil.which("caddy") is None:
        pytest.fail("no caddy: scripts/test installs Debian's (apt-get install caddy)")
    for port in (80, 443):
        if (why := _bindable(port)) is not None:
            pytest.skip(f"Caddy needs ports 80 and 443 ({why}); CI runs as root")
    data = tmp_path_factory.mktemp("caddy-app")
    with running_app(data, {
        "ZENMUX_DEMO": "1",  # the personas' one-click sign-in
        "ZENMUX_PUBLIC_URL": f"https://{HOST}",
        "ZENMUX_ALLOWED_ORIGINS": "",  # as deployed: the public URL's origin only
        "REFLEX_TRUSTED_PROXY_HOPS": "1",
    }, workdir=PROJECT_ROOT / ".run" / "test-production-caddy") as app:
        state = tmp_path_factory.mktemp("caddy")
        app_port = int(app.base_url.rsplit(":", 1)[1])
        (state / "caddy.json").write_text(json.dumps(_test_config(app_port, state)))
        log = open(state / "caddy.log", "w")
        caddy = subprocess.Popen(
            ["caddy", "run", "--config", str(state / "caddy.json")],
            stdout=log, stderr=subprocess.STDOUT, env={"HOME": str(state), "PATH": "/usr/bin"})
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if _request("https://x/_health")[0] == 200:
                        break
                except OSError:
                    pass
                if caddy.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"caddy did not serve:\n{(state / 'caddy.log').read_text()}")
                time.sleep(0.3)
            yield app, state
        finally:
            caddy.terminate()
            caddy.wait(timeout=10)
            log.close()
            kept = PROJECT_ROOT / "test-artifacts" / "server-logs"
            kept.mkdir(parents=True, exist_ok=True)
            for name in ("caddy.log", "access.log"):
                if (state / name).exists():
                    shutil.copyfile(state / name, kept / f"caddy-{name}")


def test_http_goes_to_https_and_metrics_stay_private(behind_caddy):
    app, _ = behind_caddy
    status, headers, _ = _request("http://x/subscription")
    assert status in (301, 308) and headers["location"] == f"https://{HOST}/subscription"
    status, headers, _ = _request("https://x/_health")
    assert status == 200
    assert headers["strict-transport-security"].startswith("max-age=")  # the app's HSTS
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    for path in ("/metrics", "/metrics/", "/metrics?name[]=x"):
        status, _, body = _request(f"https://x{path}", auth)
        assert status == 404 and "zenmux_" not in body, path
    # the app itself serves them to the scraper on its own port
    with urllib.request.urlopen(urllib.request.Request(
            f"{app.base_url}/metrics", headers=auth), timeout=10) as resp:
        assert resp.status == 200 and b"zenmux_" in resp.read()


def test_a_customer_refunds_through_the_proxy(behind_caddy, browser):
    app, state = behind_caddy
    app.load_scenario("example")
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
    try:
        context = chromium.new_context(base_url=f"https://{HOST}", ignore_https_errors=True,
                                       viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        page = context.new_page()
        sign_in_as(page, "alice")  # a form post and a WebSocket, both through Caddy
        [cookie] = [c for c in context.cookies() if c["name"].startswith("__Host-")]
        assert cookie["secure"] and cookie["domain"] == HOST
        page.locator("#refund-SUB-1002").click()
        expect(page.locator("#final-amount")).to_have_text("$15.71")
        page.locator("#submit-refund").click()
        page.locator("#confirm-refund").click()
        expect(page.locator("#refund-status")).to_have_text("Refunding")
        expect(page.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "behind-caddy-refunded.png"), full_page=True)
        context.close()
    finally:
        chromium.close()
    assert [r[0] for r in app.rows(
        "SELECT r.status FROM refund r JOIN subscriptionpayment o "
        "ON o.id = r.subscription_payment_id WHERE o.ref = 'SUB-1002'")] == ["refunded"]
    # Caddy's access log is JSON, saw the WebSocket's upgrade, and holds no session token
    access = (state / "access.log").read_text()
    entries = [json.loads(line) for line in access.splitlines()]
    assert any(e["request"]["uri"].startswith("/_event") for e in entries)
    assert cookie["value"] not in access
