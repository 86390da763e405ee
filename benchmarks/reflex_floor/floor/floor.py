"""The Reflex floor: one page, one button; its event handler writes one row to a
SQLite table with SQLModel in one short transaction and shows "Written N". What a
click costs in Reflex 0.10 with one write, and nothing else (no session, no lock, no
quote): the number benchmarks/confirm_latency.py divides the app's confirm by."""

import os
from datetime import datetime, timezone

import reflex as rx
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel


class Written(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    note: str


_engine = sa.create_engine(f"sqlite:///{os.environ.get('FLOOR_DB', 'floor.db')}",
                           connect_args={"check_same_thread": False, "timeout": 30})


@event.listens_for(_engine, "connect")
def _on_connect(dbapi_connection, _record):
    # the app's SQLite settings (zenmux_refunds/db.py): WAL, foreign keys, busy timeout,
    # transactions begun by SQLAlchemy with BEGIN IMMEDIATE
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(_engine, "begin")
def _on_begin(conn):
    conn.exec_driver_sql("BEGIN IMMEDIATE")


SQLModel.metadata.create_all(_engine)


class FloorState(rx.State):
    written: int = 0

    @rx.event
    def write(self):
        with Session(_engine) as s, s.begin():
            s.add(Written(at=datetime.now(timezone.utc), note="floor"))
        self.written += 1


def index() -> rx.Component:
    return rx.vstack(
        rx.button("Write", on_click=FloorState.write, id="write"),
        rx.text("Written ", FloorState.written, id="written"),
    )


app = rx.App()
app.add_page(index, route="/")
