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
        # makeLogRecord (structlog's formatter uses it) calls the factory with no name
        if (record.name or "").startswith(("reflex", "socketio", "engineio")):
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


# --------------------------------------------------------------- structured fields

# a field whose name holds one of these words (split on "_", "-") never shows its value
_SECRET_WORDS = {"password", "passwd", "pwd", "secret", "token", "authorization", "auth",
                 "cookie", "apikey", "card", "cvc", "cvv", "pan", "iban", "session",
                 "credential", "credentials", "signature"}
_SECRET_NAMES = ("api_key", "private_key", "smtp_url", "set-cookie")
REDACTED = "[redacted]"
# 13-19 digits, optionally grouped by spaces or dashes: a payment card number
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]+@")


def scrub_text(text: str) -> str:
    """``text`` with card numbers, bearer/basic credentials and URL passwords masked."""
    text = _CARD.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)


def _secret_name(key: str) -> bool:
    lowered = key.lower()
    return (any(name in lowered for name in _SECRET_NAMES)
            or bool(_SECRET_WORDS & set(re.split(r"[_\-.]", lowered))))


def redact(_logger, _method, event_dict: dict) -> dict:
    """structlog processor: the values of secret-named fields are dropped, and every
    string value (the message included) is scrubbed of card numbers and credentials."""
    for key, value in list(event_dict.items()):
        if _secret_name(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = scrub_text(scrub(value) if key == "event" else value)
    return event_dict
