"""Browser-test fixtures: one production build of the app per test session, on its own
port and its own SQLite database, with the clock frozen at the example's instant; one
Chromium (Debian's) driven by Playwright; a fresh browser context per test; screenshots
kept under test-artifacts/.

Run apart from the async tests (``scripts/test`` does): Playwright's sync API and
pytest-asyncio's loop do not mix.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
EXAMPLE_NOW = "2026-11-26T12:00:00Z"
CHROMIUM = os.environ.get("ZENMUX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
START_TIMEOUT_S = 300
USAGE_TOKEN = "browser-tests-usage-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, base_url: str, database_url: str, env: dict[str, str]):
        self.base_url = base_url
        self.database_url = database_url
        self.env = env

    def cli(self, *args: str) -> str:
        """Run ``python -m zenmux_refunds ARGS`` against the server's database."""
        done = subprocess.run([sys.executable, "-m", "zenmux_refunds", *args],
                              cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def report_usage(self, **call) -> dict:
        """POST one billed call to the running app's usage feed, as the gateway does."""
        import json

        request = urllib.request.Request(
            f"{self.base_url}/api/usage", data=json.dumps(call).encode(), method="POST",
            headers={"Authorization": f"Bearer {USAGE_TOKEN}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def load_scenario(self, name_or_path: str = "example") -> None:
        """Replace the server's database with a scenario (a fresh world per test)."""
        self.cli("scenario", "load", name_or_path, "--replace")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    port = _free_port()
    data = tmp_path_factory.mktemp("app")
    database_url = f"sqlite:///{data / 'browser.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ZENMUX_NOW": EXAMPLE_NOW,
        "ZENMUX_DEMO": "1",
        "ZENMUX_SANDBOX_SETTLE_SECONDS": "5",
        "ZENMUX_WORKER_INTERVAL_SECONDS": "1",
        "ZENMUX_USAGE_TOKEN": USAGE_TOKEN,
        "ZENMUX_BUSINESS_EMAIL": "business@zenmux.example",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    }
    server = AppServer(f"http://127.0.0.1:{port}", database_url, env)
    server.load_scenario("example")
    log_path = data / "reflex.log"
    reflex = str(Path(sys.executable).parent / "reflex")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [reflex, "run", "--env", "prod", "--frontend-port", str(port),
             "--backend-port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"reflex exited early:\n{log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{server.base_url}/ping", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"reflex did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(1)
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_server, request) -> Page:
    app_server.load_scenario("example")
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=app_server.base_url)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    except Exception:  # noqa: BLE001 - a screenshot must not hide the test's own result
        pass
    context.close()


def shot(page: Page, name: str) -> Path:
    """Keep a screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_as(page: Page, persona: str) -> None:
    """One-click demo sign-in, then wait for the signed-in header."""
    page.goto("/sign-in")
    page.locator(f"#persona-{persona}").click()
    page.wait_for_url("**/subscription")
    expect(page.locator("#account-name")).not_to_have_text("")
