"""The JetStream consumer of the usage feed against a real NATS server (127.0.0.1:4222
here and in CI) and a real database. Each test has its own stream, subjects and
durable name, and deletes its stream afterwards. Skipped, saying so, when no NATS
server answers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nats
import pytest
from sqlmodel import select

from tests.integration._helpers import person
from zenmux_refunds import config, db, usage_consumer
from zenmux_refunds.models import Account, UsageRecord
from zenmux_refunds.services import ledger, scenarios

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NATS_URL = os.environ.get("ZENMUX_NATS_URL", "nats://127.0.0.1:4222")
NOW = "2026-11-26T12:00:00Z"
WORLD = {"now": NOW, "accounts": [
    person(ref, topups=[{"ref": f"{ref.upper()}-1", "amount": "10.00", "channel": "stripe",
                         "paid_at": "2026-11-26T09:00:00Z", "status": "paid"}])
    for ref in ("ann", "ben")]}


def _nats_reachable() -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(NATS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _nats_reachable(),
                                reason=f"no NATS server with JetStream at {NATS_URL}")


@pytest.fixture
def nats_names(monkeypatch):
    """Fresh stream / subject prefix / durable for this test; the stream is deleted after."""
    tag = uuid.uuid4().hex[:10]
    names = {"ZENMUX_NATS_URL": NATS_URL, "ZENMUX_NATS_STREAM": f"ZT_{tag}",
             "ZENMUX_NATS_SUBJECT_PREFIX": f"zt{tag}.usage", "ZENMUX_NATS_DURABLE": f"zt-{tag}"}
    for key, value in names.items():
        monkeypatch.setenv(key, value)
    config.settings.cache_clear()
    yield names
    config.settings.cache_clear()

    async def delete():
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().delete_stream(names["ZENMUX_NATS_STREAM"])
        except nats.js.errors.NotFoundError:
            pass
        await nc.close()

    asyncio.run(delete())


@pytest.fixture
def world(database_url, frozen_now, nats_names):
    scenarios.load(WORLD)
    return nats_names


def _call(call_id: str, account: str = "ann", amount: str = "0.010000") -> bytes:
    return json.dumps({"call_id": call_id, "account": account, "amount": amount,
                       "billed_to": "credits", "at": "2026-11-26T11:00:00Z"}).encode()


async def _publish(messages: list[bytes]) -> None:
    cfg = config.settings()
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    await usage_consumer.ensure_stream(js, cfg)
    for data in messages:
        await js.publish(cfg.nats_billed_subject, data)
    await nc.close()


async def _stream_state() -> tuple[list[dict], object]:
    """The rejected messages (their JSON) and the consumer's info."""
    cfg = config.settings()
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    rejected = []
    sub = await js.subscribe(cfg.nats_rejected_subject, stream=cfg.nats_stream,
                             ordered_consumer=True)
    while True:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except nats.errors.TimeoutError:
            break
        rejected.append(json.loads(msg.data))
    info = await js.consumer_info(cfg.nats_stream, cfg.nats_durable)
    await nc.close()
    return rejected, info


def _consume_until_idle() -> usage_consumer.Totals:
    return asyncio.run(usage_consumer.consume(asyncio.Event(), until_idle=True))


def _books(ref: str) -> tuple[int, int]:
    with db.reading() as s:
        account = s.exec(select(Account).where(Account.ref == ref)).one()
        assert ledger.balances(s, account.id) == ledger.ledger_sums(s, account.id)
        count = len(s.exec(select(UsageRecord.id).where(UsageRecord.account_id == account.id))
                    .all())
        return account.usage_credits_micros, count


def test_calls_are_applied_once_and_bad_messages_are_kept_with_their_reason(world):
    ann0, ben0 = _books("ann"), _books("ben")
    good = [_call(f"g{i}", "ann" if i % 2 else "ben") for i in range(300)]
    bad = [b"{not json", b"\xff\xfe", _call("x1", "nobody"),
           json.dumps({"call_id": "x2", "account": "ann", "amount": "1.5555555",
                       "at": NOW}).encode(), b"[1, 2]"]
    asyncio.run(_publish(good[:150] + bad + good[150:] + good[:20]))  # 20 redelivered ids
    totals = _consume_until_idle()
    assert (totals.recorded, totals.duplicate, totals.rejected) == (300, 20, 5)
    assert _books("ann") == (ann0[0] + 150 * 10_000, ann0[1] + 150)
    assert _books("ben") == (ben0[0] + 150 * 10_000, ben0[1] + 150)
    rejected, info = asyncio.run(_stream_state())
    reasons = sorted(r["reason"] for r in rejected)
    assert len(rejected) == 5
    assert reasons[0].startswith("account: no account 'nobody'")
    assert any(r.startswith("amount") for r in reasons)
    assert sum(r.startswith("body: not valid JSON") for r in reasons) == 1
    assert sum(r.startswith("body: not valid UTF-8") for r in reasons) == 1
    assert any(r["encoding"] == "hex" and r["data"] == "fffe" for r in rejected)
    # everything acknowledged: nothing pending, nothing waiting for an ack
    assert info.num_pending == 0 and info.num_ack_pending == 0
    # a second consumer run finds nothing to do
    again = _consume_until_idle()
    assert (again.recorded, again.duplicate, again.rejected) == (0, 0, 0)


def test_nothing_is_acknowledged_when_the_database_refuses(world, tmp_path, monkeypatch):
    """A database without our tables: the batch fails, nothing is acked, nothing lost;
    with the real database again the same messages are applied, once."""
    before = _books("ann")
    asyncio.run(_publish([_call(f"d{i}") for i in range(50)]))
    good_url = os.environ["DATABASE_URL"]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-tables.db'}")
    config.settings.cache_clear()

    async def one_failing_pass():
        stop = asyncio.Event()
        task = asyncio.create_task(usage_consumer.consume(stop))
        await asyncio.sleep(1.5)
        stop.set()
        return await task

    failed = asyncio.run(one_failing_pass())
    assert failed.recorded == 0 and failed.failed_batches >= 1
    _rejected, info = asyncio.run(_stream_state())
    assert info.num_ack_pending + info.num_pending == 50 and info.delivered.consumer_seq >= 50
    monkeypatch.setenv("DATABASE_URL", good_url)
    config.settings.cache_clear()
    time.sleep(usage_consumer.RETRY_AFTER_SECONDS)  # the naks' redelivery delay
    totals = _consume_until_idle()
    assert totals.recorded == 50 and totals.rejected == 0
    assert _books("ann") == (before[0] + 50 * 10_000, before[1] + 50)


def test_several_consumers_on_one_durable_share_the_work(world):
    calls = [_call(f"s{i}", "ann" if i % 3 else "ben", amount="0.000100") for i in range(3000)]
    asyncio.run(_publish(calls))
    results: list = [None, None]

    def worker(i: int) -> None:
        results[i] = _consume_until_idle()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, usage_consumer.Totals) for r in results), results
    assert sum(r.recorded for r in results) == 3000
    assert sum(r.duplicate for r in results) == 0  # each message went to one consumer
    assert all(r.batches > 0 for r in results), "one consumer did all the work"
    with db.reading() as s:
        assert len(s.exec(select(UsageRecord.call_id).where(
            UsageRecord.call_id.like("s%"))).all()) == 3000


def test_the_command_stops_cleanly_on_sigterm(world):
    before = _books("ann")[1]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "zenmux_refunds", "usage", "consume"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        asyncio.run(_publish([_call(f"t{i}") for i in range(20)]))
        deadline = time.monotonic() + 20
        while _books("ann")[1] < before + 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _books("ann")[1] == before + 20, "the consumer did not apply the calls"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopped: 20 recorded, 0 duplicate, 0 rejected" in out, out
