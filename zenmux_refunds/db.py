"""The database engine, transactions and schema migrations.

Services open their own transaction with ``transaction()``; nothing else commits.
SQLite runs in WAL mode with foreign keys on and a busy timeout, so that a second
writer waits for the first instead of failing; PostgreSQL is used as it is.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from zenmux_refunds.config import PROJECT_ROOT, settings

_engines: dict[tuple[str, bool], sa.Engine] = {}
_engines_lock = threading.Lock()


def configure_sqlite(engine: sa.Engine, *, immediate: bool) -> None:
    """The app's SQLite settings on ``engine`` (also the Reflex floor's, in
    benchmarks/reflex_floor, so that the benchmark compares like with like)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver callback
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - driver callback
        # Writers take the write lock at the start of their transaction: two writers
        # then queue instead of both reading a stale snapshot and one failing later.
        # Readers begin a deferred transaction and never wait for a writer (WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def engine(url: str | None = None, *, readonly: bool = False) -> sa.Engine:
    """The engine for ``url`` (default: DATABASE_URL), created once per process.

    On SQLite, ``readonly`` engines begin deferred transactions (see above)."""
    url = url or settings().database_url
    key = (url, readonly and url.startswith("sqlite"))
    with _engines_lock:
        found = _engines.get(key)
        if found is None:
            if url.startswith("sqlite"):
                path = url.split("///", 1)[-1]
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                found = sa.create_engine(
                    url, connect_args={"check_same_thread": False, "timeout": 30}
                )
                configure_sqlite(found, immediate=not key[1])
            else:
                found = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
            _engines[key] = found
        return found


def dispose_all() -> None:
    with _engines_lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """One database transaction: committed when the block ends, rolled back on error."""
    with Session(engine(url), expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextmanager
def reading(url: str | None = None) -> Iterator[Session]:
    """A session for reads only. Closing it ends the transaction without expiring the
    objects read, so they stay usable (detached) after the block."""
    with Session(engine(url, readonly=True), expire_on_commit=False) as session:
        yield session


@functools.lru_cache(maxsize=None)
def _update_by(table: sa.Table, key: str, names: tuple[str, ...]) -> sa.Update:
    """UPDATE ``table`` SET each of ``names`` WHERE its ``key`` column = :key, built
    and compiled once per shape."""
    return (table.update().where(table.c[key] == sa.bindparam("key"))
            .values({name: sa.bindparam(name) for name in names}))


def write_through(session: Session, row, table: sa.Table, values: dict,
                  key: str = "account_id") -> None:
    """Set ``values`` on ``row``, a row of ``table`` found by its ``key`` column, with
    one UPDATE sent on the session's connection at once: for a hot path's few updates,
    a statement costs less than the unit of work's search for, and writing of, one
    changed object at the next flush.

    ``row``: a read-only row (a Core select's), or an ORM object loaded in this
    session, which then gets the same values without being marked changed (the session
    stays true for the rest of the transaction). An ORM object not yet written (new in
    this session) is changed as an ORM object and flushed as usual."""
    state = sa.inspect(row, raiseerr=False)  # None for a read-only row
    if state is not None and not state.persistent:
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        return
    session.connection().execute(_update_by(table, key, tuple(values)),
                                 {"key": getattr(row, key), **values})
    if state is not None:
        for name, value in values.items():
            set_committed_value(row, name, value)


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["database_url"] = url or settings().database_url
    return cfg


def upgrade(url: str | None = None) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    import zenmux_refunds.models  # noqa: F401  (registers the tables)

    engine(url)  # creates the SQLite folder
    command.upgrade(alembic_config(url), "head")
