"""The demo's controls: move the clock forward, reset it, reload the scenario."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from zenmux_refunds import clock, db
from zenmux_refunds.models import ClockSetting

MIN_ADVANCE = timedelta(minutes=1)
MAX_ADVANCE = timedelta(days=60)
# ASCII only: without re.ASCII, \d and \s also match other scripts' digits and spaces
# ("\u0661d", an Arabic-Indic one, moved the clock a day). fullmatch: nothing else around.
_DURATION = re.compile(r"\s*([0-9]{1,6})\s*([mhd])\s*", re.ASCII)


class DemoError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """``90m``, ``6h``, ``2d`` -> timedelta (forward only, 1 minute to 60 days).

    Only ASCII digits 0-9 and the units m, h, d (ASCII spaces around them allowed)."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise DemoError(f"duration {text!r}: use a whole number (digits 0-9) of m, h or d, "
                        "like 90m, 6h, 2d")
    amount, unit = int(match.group(1)), match.group(2)
    delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
             "d": timedelta(days=amount)}[unit]
    if delta < MIN_ADVANCE:
        raise DemoError(f"duration {text!r}: at least 1 minute")
    if delta > MAX_ADVANCE:
        raise DemoError(f"duration {text!r}: at most 60 days at a time")
    return delta


def current_time() -> datetime:
    with db.reading() as session:
        return clock.now(session)


def advance_clock(delta: timedelta) -> datetime:
    if delta < timedelta(0):
        raise DemoError("the clock only moves forward")
    with db.transaction() as session:
        setting = session.get(ClockSetting, 1) or ClockSetting(id=1)
        setting.offset_seconds += int(delta.total_seconds())
        session.add(setting)
        session.flush()
        return clock.compute_now(setting)


def reset_clock_offset() -> None:
    with db.transaction() as session:
        setting = session.get(ClockSetting, 1)
        if setting is not None:
            setting.offset_seconds = 0
            session.add(setting)
