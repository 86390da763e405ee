"""A production build of the app on its own port and its own SQLite database, for the
browser and security tests. One at a time per Reflex work directory: a build writes
``.web/`` (or ``workdir``), and a second build there on another port would point the
first server's pages at itself.

The production shape (``ZENMUX_TEST_SHAPE=production``, what ``scripts/test-production``
sets): a fresh PostgreSQL database on ``ZENMUX_TEST_POSTGRES_URL``'s server, Redis
(``ZENMUX_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/11``, flushed at each
start: keep that database for these tests), ``ZENMUX_TEST_WORKERS`` app workers
(default 3) with ``ZENMUX_BACKGROUND=off`` and one ``python -m zenmux_refunds worker``
beside them, counters in a multiprocess directory, in its own work directory
(``.run/test-production/``) so that it may run beside ``scripts/test``."""

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

from tests.support.cli_runner import CliRunner

PROJECT_ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "browser-tests-metrics-token-0123456789"
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
        self.runner = CliRunner(env, log_path.with_name("cli-runner.log"))

    def cli(self, *args: str) -> str:
        """``python -m zenmux_refunds ARGS`` against the server's database, in the
        server's environment (run by one long-lived process: see ``cli_runner``)."""
        rc, out, err = self.runner.run(*args)
        assert rc == 0, err
        return out

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
        from zenmux_refunds.config import _database_url_from

        engine = sa.create_engine(_database_url_from(self.database_url))
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]
        finally:
            engine.dispose()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_log_lines(self) -> list[dict]:
        """The server's structured log lines (JSON objects), in order."""
        lines = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    lines.append(json.loads(line))
        return lines


def production_shape() -> bool:
    return os.environ.get("ZENMUX_TEST_SHAPE", "").strip() == "production"


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database on ZENMUX_TEST_POSTGRES_URL's server, dropped afterwards."""
    import uuid

    from zenmux_refunds.config import _database_url_from

    admin_url = os.environ.get("ZENMUX_TEST_POSTGRES_URL", "").strip()
    if not admin_url:
        raise RuntimeError("the production shape needs ZENMUX_TEST_POSTGRES_URL "
                           "(e.g. postgresql://postgres@127.0.0.1:5432/test)")
    name = f"zr_shape_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_database_url_from(admin_url), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _flushed_redis() -> str:
    import redis

    url = os.environ.get("ZENMUX_TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/11"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()  # this database is the tests' own: no state left from a last run
    finally:
        client.close()
    return url


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
                scenario: str | None = "example",
                workdir: Path | None = None) -> Iterator[AppServer]:
    """Start ``reflex run --env prod`` with ``base_env`` updated by ``env``; stop it after.
    ``workdir``: Reflex's work directory (``.web``, ``.states``) for this server, when it
    may run beside another build of this checkout; by default ``ZENMUX_TEST_WORKDIR``
    when set (``scripts/test`` gives each suite it runs side by side its own), else the
    checkout's. ``ZENMUX_TEST_SHAPE=production``: the production shape (see the
    module's docstring)."""
    if workdir is None and os.environ.get("ZENMUX_TEST_WORKDIR", "").strip():
        workdir = Path(os.environ["ZENMUX_TEST_WORKDIR"].strip()).resolve()
    if production_shape():
        with fresh_postgres_database() as url:
            extra = {
                "REFLEX_REDIS_URL": _flushed_redis(),
                "GRANIAN_WORKERS": os.environ.get("ZENMUX_TEST_WORKERS", "3"),
                "ZENMUX_BACKGROUND": "off",
                "ZENMUX_METRICS_TOKEN": METRICS_TOKEN,
                "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "prometheus"),
                **(env or {}),
            }
            with _running(data_dir, url, extra, scenario,
                          workdir or PROJECT_ROOT / ".run" / "test-production",
                          background=True) as server:
                yield server
        return
    with _running(data_dir, f"sqlite:///{data_dir / 'app.db'}", env or {}, scenario,
                  workdir, background=False) as server:
        yield server


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def _running(data_dir: Path, database_url: str, env: dict[str, str], scenario: str | None,
             workdir: Path | None, *, background: bool) -> Iterator[AppServer]:
    port = free_port()
    full_env = base_env(port, database_url)
    full_env.update(env)
    if workdir is not None:
        full_env["REFLEX_WEB_WORKDIR"] = str(workdir / "web")
        full_env["REFLEX_STATES_WORKDIR"] = str(workdir / "states")
    log_path = data_dir / "reflex.log"
    server = AppServer(f"http://127.0.0.1:{port}", database_url, full_env, log_path)
    if scenario:
        server.load_scenario(scenario)
    reflex = str(Path(sys.executable).parent / "reflex")
    workers: list[subprocess.Popen] = []
    building = contextlib.ExitStack()  # released once the server answers, or fails
    building.enter_context(_one_build_at_a_time())
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [reflex, "run", "--env", "prod", "--frontend-port", str(port),
                 "--backend-port", str(port)],
                cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except BaseException:
        building.close()
        raise
    if background:  # the one background process of the production shape, its own log
        with open(data_dir / "worker.log", "w") as worker_log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "zenmux_refunds", "worker"], cwd=PROJECT_ROOT,
                env=full_env, stdout=worker_log, stderr=subprocess.STDOUT,
                start_new_session=True))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with building:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"reflex exited early:\n{log_path.read_text()[-4000:]}")
                try:
                    with urllib.request.urlopen(f"{server.base_url}/ping", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"reflex did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.5)
        yield server
    finally:
        server.runner.close()
        for p in (proc, *workers):
            _stop(p)
        _keep_logs(data_dir, port)


@contextlib.contextmanager
def _one_build_at_a_time() -> Iterator[None]:
    """Held from before ``reflex run`` starts until it answers (or fails): one Reflex
    build at a time across every test process of this checkout (the lanes of
    ``scripts/test`` run side by side, each starting servers). Each build copies the
    checkout's ``reflex.lock/`` into its work directory and back with a truncating
    copy, so two at once can read an empty ``bun.lock`` mid-copy: the install then
    fails ("lockfile is out of sync"), and the empty file is written back to the
    checkout. Seen in CI with three lanes starting at once."""
    import fcntl

    path = PROJECT_ROOT / ".run" / "reflex-build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _keep_logs(data_dir: Path, port: int) -> None:
    """Copy the server's logs where CI keeps them (pytest's temporary directories are
    gone after a few runs): test-artifacts/server-logs/<lane>-<port>-<name>."""
    import shutil

    lane = "production" if production_shape() else (
        Path(os.environ["ZENMUX_TEST_WORKDIR"]).name if os.environ.get("ZENMUX_TEST_WORKDIR")
        else "checkout")
    kept = PROJECT_ROOT / "test-artifacts" / "server-logs"
    kept.mkdir(parents=True, exist_ok=True)
    for log in ("reflex.log", "worker.log", "cli-runner.log"):
        if (data_dir / log).exists():
            shutil.copyfile(data_dir / log, kept / f"{lane}-{port}-{log}")
