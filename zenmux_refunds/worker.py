"""The background pass: settle or reconcile refunds in Refunding, grant referral rewards
that fell due, send the outbox's mails. Each step is safe to run in several processes
at once (the services lock and re-check; a mail is leased before it is sent), so two
background processes, or one beside app processes that run it inline, never do a thing
twice.

Where it runs is ``ZENMUX_BACKGROUND``: ``inline`` (the default, the single-process
demo) starts ``background_loop`` in every app process; ``off`` leaves it to one
process of its own, ``python -m zenmux_refunds worker`` (``run_forever``)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from zenmux_refunds.config import settings
from zenmux_refunds.services import mail, refunds, rewards

log = logging.getLogger(__name__)


def run_once() -> None:
    refunds.process_refunding()
    rewards.grant_due()
    mail.send_pending()


async def background_loop() -> None:
    interval = settings().worker_interval_seconds
    while True:
        try:
            await asyncio.to_thread(run_once)
        except Exception:  # noqa: BLE001 - keep the loop alive; the next pass retries
            log.exception("background pass failed")
        await asyncio.sleep(interval)


def run_forever(stop: threading.Event | None = None) -> None:
    """The background process: a pass every ``ZENMUX_WORKER_INTERVAL_SECONDS`` until
    SIGTERM or SIGINT (the pass under way finishes first), or until ``stop`` is set."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    interval = settings().worker_interval_seconds
    log.info("background process started (every %s s)", interval)
    while not stop.is_set():
        try:
            run_once()
        except Exception:  # noqa: BLE001 - keep the loop alive; the next pass retries
            log.exception("background pass failed")
        stop.wait(interval)
    log.info("background process stopped")
