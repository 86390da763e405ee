"""Shared fixtures: a fresh database per test, on SQLite and (when
``ZENMUX_TEST_POSTGRES_URL`` names a server) on PostgreSQL too; a frozen clock."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from zenmux_refunds import config, db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
EXAMPLE_SCENARIO = PROJECT_ROOT / "scenarios" / "example.json"
EXAMPLE_NOW = "2026-11-26T12:00:00Z"

_PG_ADMIN_URL = os.environ.get("ZENMUX_TEST_POSTGRES_URL", "").strip()


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if _PG_ADMIN_URL else ["sqlite"]


def _pg_url(admin_url: str, database: str) -> str:
    url = sa.make_url(config._database_url_from(admin_url))
    return url.set(database=database).render_as_string(hide_password=False)


_simulation_lines: list[dict] = []


def pytest_runtest_logreport(report):
    """Collect the simulation's summaries (``user_properties``: they reach this process
    from pytest-xdist's workers too)."""
    if report.when == "call":
        _simulation_lines.extend(v for k, v in report.user_properties if k == "simulation")


def pytest_terminal_summary(terminalreporter):
    """Print what the simulation checked: each test's line and each backend's total."""
    if not _simulation_lines:
        return
    from tests.support.simulation import Stats

    terminalreporter.section("simulation")
    totals: dict[str, Stats] = {}
    for rec in _simulation_lines:
        stats = Stats(seeds=rec["seeds"], steps=rec["steps"], checks=rec["checks"],
                      seconds=rec["seconds"])
        terminalreporter.write_line(f"{stats.line(rec['backend'])} [{rec['mode']}]")
        if rec["report"]:
            terminalreporter.write_line(rec["report"])
        totals.setdefault(rec["backend"], Stats()).merge(stats)
    for backend, total in sorted(totals.items()):
        terminalreporter.write_line(f"{total.line(backend)} [all]")


@pytest.fixture(autouse=True)
def _fresh_sign_in_throttle():
    """Each test starts with no sign-in failures counted (the throttle is per process)."""
    from zenmux_refunds.services import throttle

    throttle.reset_for_tests()
    yield
    throttle.reset_for_tests()


def _pg_admin() -> sa.Engine:
    return sa.create_engine(_pg_url(_PG_ADMIN_URL, sa.make_url(
        config._database_url_from(_PG_ADMIN_URL)).database or "test"),
        isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def pg_template():
    """A PostgreSQL database migrated to the newest schema once per test session; each
    test's database is a copy of it (CREATE DATABASE … TEMPLATE), which takes a fraction
    of the time the migrations take (they still run in full, once, and a test that
    upgrades finds the schema at head)."""
    name = f"zr_tmpl_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(_PG_ADMIN_URL, name)
    db.upgrade(url)
    db.dispose_all()  # a template must have no connection open when it is copied
    yield name
    db.dispose_all()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_backends())
def database_url(request, tmp_path, monkeypatch):
    """A fresh database for one test, with no data (on PostgreSQL, its schema is already
    at head); DATABASE_URL points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'zenmux-test.db'}"
        cleanup = None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"zr_test_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = _pg_url(_PG_ADMIN_URL, name)

        def cleanup():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    monkeypatch.setenv("DATABASE_URL", url)
    config.settings.cache_clear()
    yield url
    db.dispose_all()
    config.settings.cache_clear()
    if cleanup:
        cleanup()


@pytest.fixture
def frozen_now(monkeypatch):
    """Freeze the app clock at the example scenario's instant."""
    monkeypatch.setenv("ZENMUX_NOW", EXAMPLE_NOW)
    config.settings.cache_clear()
    yield config.parse_instant(EXAMPLE_NOW, field="ZENMUX_NOW")
    config.settings.cache_clear()


@pytest.fixture
def example_db(database_url, frozen_now):
    """The example scenario loaded into a fresh database, clock frozen at its now."""
    from zenmux_refunds.services import scenarios

    scenarios.load(EXAMPLE_SCENARIO)
    return database_url
