"""The Reflex floor: one page, one button; its event handler writes one row to a
SQLite table with SQLModel in one short transaction and shows "Written N". What a
click costs in Reflex 0.10 with one write, and nothing else (no session, no lock, no
quote): the number benchmarks/confirm_latency.py divides the app's confirm by."""

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import reflex as rx
import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout's root
from zenmux_refunds.db import configure_sqlite  # noqa: E402


class Written(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    note: str


_engine = sa.create_engine(f"sqlite:///{os.environ.get('FLOOR_DB', 'floor.db')}",
                           connect_args={"check_same_thread": False, "timeout": 30})
configure_sqlite(_engine, immediate=True)  # the app's SQLite settings, the same code
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
