"""The usage feed on NATS JetStream: ``python -m zenmux_refunds usage consume``.

The gateway publishes one billed call per message on ``<prefix>.billed`` (the same JSON
as ``POST /api/usage``). This process, run beside the app as its own process (as many
as needed: they share one durable pull consumer, so each message goes to one of them),
fetches up to ``ZENMUX_NATS_BATCH`` messages at a time and applies them like a batch of
``POST /api/usage/batch`` (``usage.ingest_batch``: one lock and one transaction per
account). A message is acknowledged only after its call is committed; a redelivery
after a crash is harmless, as a call id counts once. A message that cannot be applied
(not JSON, a bad field, an unknown account) is republished on ``<prefix>.rejected``
with the reason, and only then acknowledged: never lost, never retried forever.
If the database fails, the batch is not acknowledged and comes back after a pause.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from dataclasses import dataclass, field

import nats
import nats.errors
import nats.js.errors
from nats.js import api as js_api

from zenmux_refunds import metrics
from zenmux_refunds.config import Settings, settings
from zenmux_refunds.services import usage

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 1.0  # one fetch waits at most this long: how fast SIGTERM is seen
RETRY_AFTER_SECONDS = 2.0  # a batch the database refused comes back after this
ACK_WAIT_SECONDS = 60.0  # unacknowledged this long (a consumer died): delivered again
MAX_MESSAGE_BYTES = 64 * 1024  # as the HTTP feed's body limit
STREAM_MAX_AGE_SECONDS = 7 * 24 * 3600  # a stream we create keeps messages a week


@dataclass
class Totals:
    """What one consumer did (the counts of ``usage.BatchResult``, summed)."""

    recorded: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    failed_batches: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        self.recorded += counts["recorded"]
        self.duplicate += counts["duplicate"]
        self.rejected += counts["rejected"]
        self.batches += 1


async def ensure_stream(js, cfg: Settings) -> None:
    """Create the stream on ``<prefix>.>`` unless it exists (as it is, if it does)."""
    try:
        await js.stream_info(cfg.nats_stream)
        return
    except nats.js.errors.NotFoundError:
        pass
    try:
        await js.add_stream(name=cfg.nats_stream, subjects=[f"{cfg.nats_subject_prefix}.>"],
                            max_age=STREAM_MAX_AGE_SECONDS)
        log.info("created JetStream stream %s on %s.>", cfg.nats_stream,
                 cfg.nats_subject_prefix)
    except nats.js.errors.BadRequestError:
        # another consumer created it between our two requests
        await js.stream_info(cfg.nats_stream)


def _payload(data: bytes) -> object:
    """The message's JSON, or a UsageError saying why it is not a call."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise usage.UsageError(f"body: too large (at most {MAX_MESSAGE_BYTES} bytes)")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise usage.UsageError("body: not valid UTF-8") from None
    except (json.JSONDecodeError, RecursionError):
        raise usage.UsageError("body: not valid JSON") from None


async def _reject(js, cfg: Settings, msg, reason: str) -> None:
    """Keep a message we cannot apply on the rejected subject, with the reason."""
    try:
        text: str | None = msg.data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    document = {"reason": reason, "subject": msg.subject,
                "data": text if text is not None else msg.data.hex(),
                "encoding": "utf-8" if text is not None else "hex"}
    await js.publish(cfg.nats_rejected_subject, json.dumps(document).encode(),
                     headers={"Zenmux-Reject-Reason": reason[:200]})


async def handle(js, cfg: Settings, msgs: list, totals: Totals) -> bool:
    """Apply one fetched batch; ack what is committed or rejected. False when the
    database refused the batch (nothing acknowledged: it is delivered again)."""
    payloads: list[object] = []
    for msg in msgs:
        try:
            payloads.append(_payload(msg.data))
        except usage.UsageError as exc:
            payloads.append(_Unreadable(str(exc)))
    readable = [p for p in payloads if not isinstance(p, _Unreadable)]
    if len(readable) < len(payloads):  # not JSON, not an object: never reach the service
        metrics.usage_ingested(rejected=len(payloads) - len(readable))
    try:
        result = await asyncio.to_thread(usage.ingest_batch, readable)
    except Exception:  # noqa: BLE001 - the database: retried, never acked
        log.exception("applying %d usage messages failed; they will be delivered again",
                      len(msgs))
        totals.failed_batches += 1
        for msg in msgs:
            await msg.nak(delay=RETRY_AFTER_SECONDS)
        return False
    outcomes = iter(result.outcomes)
    counts = result.counts()
    for msg, payload in zip(msgs, payloads):
        reason = payload.reason if isinstance(payload, _Unreadable) else next(outcomes).error
        if reason:
            if isinstance(payload, _Unreadable):
                counts["rejected"] += 1
            totals.by_reason[reason.split(":", 1)[0]] = \
                totals.by_reason.get(reason.split(":", 1)[0], 0) + 1
            await _reject(js, cfg, msg, reason)
        await msg.ack()
    totals.add(counts)
    return True


@dataclass(frozen=True)
class _Unreadable:
    reason: str


async def consume(stop: asyncio.Event, *, until_idle: bool = False,
                  cfg: Settings | None = None) -> Totals:
    """Fetch and apply batches until ``stop`` is set (or, with ``until_idle``, until a
    fetch finds nothing pending). The batch in hand is finished (committed and
    acknowledged) before it returns."""
    cfg = cfg or settings()
    nc = await nats.connect(cfg.nats_url, name="zenmux-usage-consumer",
                            max_reconnect_attempts=-1, allow_reconnect=True)
    totals = Totals()
    try:
        js = nc.jetstream()
        await ensure_stream(js, cfg)
        sub = await js.pull_subscribe(
            cfg.nats_billed_subject, durable=cfg.nats_durable, stream=cfg.nats_stream,
            config=js_api.ConsumerConfig(
                ack_policy=js_api.AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS,
                max_ack_pending=max(20_000, 4 * cfg.nats_batch),
                filter_subject=cfg.nats_billed_subject))
        # The next batch is fetched while this one is applied (the acks still wait for
        # its commit); on stop, a batch already fetched is applied and acked too.
        fetching = asyncio.create_task(_fetch(sub, cfg.nats_batch))
        while True:
            msgs = await fetching
            if msgs is None and (until_idle or stop.is_set()):
                break
            fetching = asyncio.create_task(_fetch(sub, cfg.nats_batch)) \
                if not stop.is_set() else _nothing()
            if msgs is not None and not await handle(js, cfg, msgs, totals):
                await _sleep_or_stop(stop, RETRY_AFTER_SECONDS)
            await nc.flush()  # the acks are on their way
        await sub.unsubscribe()
    finally:
        await nc.drain()
    return totals


async def _fetch(sub, batch: int) -> list | None:
    """Up to ``batch`` messages, or None when none came within FETCH_WAIT_SECONDS."""
    try:
        return await sub.fetch(batch, timeout=FETCH_WAIT_SECONDS)
    except asyncio.TimeoutError:  # nats.errors.TimeoutError is one too
        return None


def _nothing() -> asyncio.Future:
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


def run(*, until_idle: bool = False) -> Totals:
    """The command: consume until SIGTERM or SIGINT (or until idle)."""

    async def main() -> Totals:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await consume(stop, until_idle=until_idle)

    return asyncio.run(main())
