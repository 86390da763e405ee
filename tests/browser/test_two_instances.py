"""Two instances of `scripts/run` from one checkout, on two ports, at once: each page
talks to its own server (they used to share `.web/env.json`, and the second build
pointed the first one's pages at the second port), and running them leaves the
checkout as it was (Reflex rewrote `.gitignore` and `reflex.lock/package.json`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.appserver import free_port, production_shape

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(production_shape(), reason="about scripts/run, not the shape")


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, check=True,
                          capture_output=True, text=True).stdout


@contextlib.contextmanager
def _scripts_run(tmp_path: Path, name: str):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZENMUX_", "REFLEX_", "STRIPE_", "ANTOM_", "DATABASE_URL"))}
    env.update({"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
                # a stable work directory per slot (its node_modules are kept between runs)
                "REFLEX_WEB_WORKDIR": f".run/test-{name}/web",
                "REFLEX_STATES_WORKDIR": f".run/test-{name}/states"})
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(PROJECT_ROOT / "scripts" / "run")], cwd=PROJECT_ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc, port, log_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_up(proc, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()[-3000:]
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return
        time.sleep(0.5)
    raise AssertionError(f"scripts/run did not start:\n{log_path.read_text()[-3000:]}")


def test_two_instances_on_two_ports_each_serve_their_own_pages(browser, tmp_path):
    before = _git_status()
    with _scripts_run(tmp_path, "a") as (proc_a, port_a, log_a), \
            _scripts_run(tmp_path, "b") as (proc_b, port_b, log_b):
        _wait_up(proc_a, port_a, log_a)
        _wait_up(proc_b, port_b, log_b)
        for port in (port_a, port_b):
            context = browser.new_context(base_url=f"http://localhost:{port}")
            try:
                page = context.new_page()
                sockets: list[str] = []
                page.on("websocket", lambda ws: sockets.append(ws.url))
                page.goto("/sign-in")
                expect(page.locator("#persona-paul")).to_be_visible()
                assert sockets, "the page opened no WebSocket"
                assert all(f":{port}/" in url for url in sockets), (port, sockets)
            finally:
                context.close()
    assert _git_status() == before  # nothing tracked was rewritten, nothing new appeared
