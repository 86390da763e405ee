"""A production build of the app on its own port and its own SQLite database, for the
browser and security tests. One at a time per checkout: a build writes ``.web/``, and a
second build on another port would point the first server's pages at itself."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_NOW = "2026-11-26T12:00:00Z"
START_TIMEOUT_S = 300
USAGE_TOKEN = "browser-tests-usage-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, base_url: str, database_url: str, env: dict[str, str], log_path: Path):
        self.base_url = base_url
        self.database_url = database_url
        self.env = env
        self.log_path = log_path

    def cli(self, *args: str) -> str:
        """Run ``python -m zenmux_refunds ARGS`` against the server's database."""
        done = subprocess.run([sys.executable, "-m", "zenmux_refunds", *args],
                              cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def report_usage(self, **call) -> dict:
        """POST one billed call to the running app's usage feed, as the gateway does."""
        request = urllib.request.Request(
            f"{self.base_url}/api/usage", data=json.dumps(call).encode(), method="POST",
            headers={"Authorization": f"Bearer {USAGE_TOKEN}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def load_scenario(self, name_or_path: str = "example") -> None:
        """Replace the server's database with a scenario (a fresh world per test)."""
        self.cli("scenario", "load", name_or_path, "--replace")

    def rows(self, sql: str, **params) -> list[tuple]:
        """Read the server's database directly (what the server really did)."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]
        finally:
            engine.dispose()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def base_env(port: int, database_url: str) -> dict[str, str]:
    """The environment of a test server: the example's frozen clock, no demo mode
    unless a test asks for it, and only the server's own origin allowed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENMUX_", "STRIPE_",
                                                                     "ANTOM_", "REFLEX_REDIS"))}
    env.update({
        "DATABASE_URL": database_url,
        "ZENMUX_NOW": EXAMPLE_NOW,
        "ZENMUX_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ZENMUX_ALLOWED_ORIGINS": f"http://127.0.0.1:{port},http://localhost:{port}",
        "ZENMUX_SANDBOX_SETTLE_SECONDS": "5",
        "ZENMUX_WORKER_INTERVAL_SECONDS": "1",
        "ZENMUX_USAGE_TOKEN": USAGE_TOKEN,
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    })
    return env


@contextlib.contextmanager
def running_app(data_dir: Path, env: dict[str, str] | None = None,
                scenario: str | None = "example") -> Iterator[AppServer]:
    """Start ``reflex run --env prod`` with ``base_env`` updated by ``env``; stop it after."""
    port = free_port()
    database_url = f"sqlite:///{data_dir / 'app.db'}"
    full_env = base_env(port, database_url)
    full_env.update(env or {})
    log_path = data_dir / "reflex.log"
    server = AppServer(f"http://127.0.0.1:{port}", database_url, full_env, log_path)
    if scenario:
        server.load_scenario(scenario)
    reflex = str(Path(sys.executable).parent / "reflex")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [reflex, "run", "--env", "prod", "--frontend-port", str(port),
             "--backend-port", str(port)],
            cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
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
            time.sleep(0.5)
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
