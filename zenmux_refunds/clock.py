"""The application's clock: the one place that answers "what time is it?".

- ``ZENMUX_NOW=<instant>`` freezes the clock at that instant (tests, reviews);
  with ``ZENMUX_CLOCK=running`` it starts there and runs.
- Otherwise, once a scenario is loaded, the clock starts at the scenario's ``now``
  and runs in real time from the moment of loading (the demo).
- Otherwise it is the real time.
In every case the demo's offset (kept in the database, moved forward by reviewers)
is added on top. Code below the services never calls this: it receives ``now``.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from zenmux_refunds.config import settings
from zenmux_refunds.models import ClockSetting

_process_started_real = datetime.now(timezone.utc)
_process_started_mono = time.monotonic()


def real_now() -> datetime:
    """The wall clock in UTC (session expiry and other security times use it)."""
    return datetime.now(timezone.utc)


def _elapsed_since_start() -> timedelta:
    return timedelta(seconds=time.monotonic() - _process_started_mono)


def compute_now(setting: ClockSetting | None, *, real: datetime | None = None) -> datetime:
    """The app's time for a clock setting row (pure: ``real`` may be given)."""
    cfg = settings()
    real = real or real_now()
    offset = timedelta(seconds=setting.offset_seconds) if setting else timedelta(0)
    if cfg.frozen_now is not None:
        base = cfg.frozen_now
        if cfg.clock_running:
            base += _elapsed_since_start()
        return base + offset
    if setting is not None and setting.anchor_at is not None:
        anchored_real = setting.anchored_real_at or real
        return setting.anchor_at + (real - anchored_real) + offset
    return real + offset


# What ``compute_now`` reads of the clock row, compiled once: not the row's stored
# scenario (a blob as large as the scenario file), and no ORM object, on a path that
# every approval and usage report takes.
_CLOCK = ClockSetting.__table__
_READ_CLOCK = sa.select(_CLOCK.c.anchor_at, _CLOCK.c.anchored_real_at,
                        _CLOCK.c.offset_seconds).where(_CLOCK.c.id == 1)


def now(session: Session) -> datetime:
    """The app's current time, read inside the caller's transaction (what it has
    committed or flushed: a clock row changed in the session and not yet flushed is
    not seen; ``compute_now`` takes such a row itself)."""
    return compute_now(session.connection().execute(_READ_CLOCK).first())
