"""Never log what a browser sent in an event.

Reflex logs a whole ``Event(...)`` (its payload, and router data with the handshake's
cookies) when it cannot route one — an event for an unknown handler, say — and the raw
data of a malformed one. A payload can carry a password or a session token. This
installs a log-record factory that rewrites such records from Reflex's loggers to name
the event only."""

from __future__ import annotations

import logging
import re

_EVENT_NAME = re.compile(r"name='([^']{0,200})'")
_MARKERS = ("Event(", "Event data:", "event data:", "payload", "router_data")
_installed = False


def scrub(message: str) -> str:
    """The message without any event payload or router data ("" markers untouched)."""
    if not any(m in message for m in _MARKERS):
        return message
    head = message
    for marker in _MARKERS:
        cut = head.find(marker)
        if cut != -1:
            head = head[:cut]
    name = _EVENT_NAME.search(message)
    event = f" event {name.group(1)!r}" if name else " an event"
    return f"{head.rstrip()}{event} (payload not logged)"


def install() -> None:
    """Idempotent: wrap the current log-record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if record.name.startswith(("reflex", "socketio", "engineio")):
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string is logged as it was
                return record
            clean = scrub(text)
            if clean != text:
                record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
