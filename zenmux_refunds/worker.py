"""The background pass every app process runs: settle or reconcile refunds in
Refunding, grant referral rewards that fell due, send the outbox's mails. Each step is
safe to run in several processes at once (the services lock and re-check; a mail is
leased before it is sent)."""

from __future__ import annotations

import asyncio
import logging

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
