"""Structured logs: one JSON object per line (``structlog``), with the refs of what is
being worked on bound in context, and never a secret.

Every ``logging`` record of the ``zenmux_refunds`` loggers goes through one
``structlog`` formatter: the message is ``event``, the logger, level and UTC time are
added, and whatever ``bound(...)`` put in context (``refund_ref``, ``order_ref``,
``account_ref``) is merged in. ``structlog.get_logger(__name__).info("...", key=value)``
and plain ``logging`` calls end up the same. Before rendering, ``log_safety.redact``
drops the values of fields named like a secret and masks what looks like a card number
or a bearer token in the message. ``ZENMUX_LOG_FORMAT=console`` renders for a terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

import structlog

from zenmux_refunds import log_safety
from zenmux_refunds.config import settings

_configured = False

# structlog loggers hand their fields to the standard library as ``extra``: one path
# for every line, rendered by ``formatter`` wherever a handler has it.
structlog.configure(
    processors=[structlog.stdlib.render_to_log_kwargs],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def _add_pid(_logger, _method, event_dict: dict) -> dict:
    """Which process wrote the line (one of several app workers, the background one)."""
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def _pre_chain() -> list:
    return [
        structlog.stdlib.ExtraAdder(),
        _add_pid,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        structlog.processors.format_exc_info,
        log_safety.redact,
    ]


def formatter(fmt: str | None = None) -> logging.Formatter:
    """The formatter of every zenmux_refunds log line (JSON unless ``console``)."""
    renderer = (structlog.dev.ConsoleRenderer(colors=False) if (fmt or "json") == "console"
                else structlog.processors.JSONRenderer(default=str))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def configure(stream=None) -> None:
    """Idempotent: the ``zenmux_refunds`` loggers write structured lines to stderr at
    INFO. Reflex's own loggers are left as Reflex configures them."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings().log_format))
    app_log = logging.getLogger("zenmux_refunds")
    app_log.addHandler(handler)
    app_log.setLevel(logging.INFO)
    _configured = True


@contextlib.contextmanager
def bound(**refs: str | None) -> Iterator[None]:
    """Put ``refs`` (refund_ref, order_ref, account_ref, …) in the context of every log
    line written inside the block (this thread or task only); None values are left out."""
    given = {k: v for k, v in refs.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**given):
        yield


def get_logger(name: str):
    return structlog.get_logger(name)
