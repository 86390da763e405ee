"""Benchmark: the usage feed on PostgreSQL, in calls per second.

    .venv/bin/python benchmarks/usage_feed.py [--pg postgresql://postgres@127.0.0.1:5432/test]
                                              [--nats nats://127.0.0.1:4222] [--accounts 50]

Makes a fresh database on the PostgreSQL server (dropped afterwards), loads accounts
that each hold a top-up and some bonus credit, and measures, each on calls spread
over the accounts at random:

- single HTTP reports: ``POST /api/usage``, 16 clients at once;
- batches of 1,000 over HTTP: ``POST /api/usage/batch``, 2 clients at once;
- the JetStream consumer: messages published on a stream of the benchmark's own
  beforehand, then applied by ``usage_consumer.consume`` (batches of 1,000);
- the floor: the same number of usage rows written by a bare multi-row INSERT, one
  transaction per 1,000 (no lock, no duplicate check, no ledger lines, no totals).

The HTTP endpoints are the app's own routes (``zenmux_refunds.api:build``) served by
Granian (the server Reflex runs in production) in one worker on 127.0.0.1:18137, a
process of their own, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT = 18137
TOKEN = "bench-usage-token"
NOW = "2026-11-26T12:00:00Z"
os.environ["ZENMUX_NOW"] = NOW
os.environ["ZENMUX_USAGE_TOKEN"] = TOKEN


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="a PostgreSQL server where the benchmark may create a database")
    p.add_argument("--nats", default="nats://127.0.0.1:4222")
    p.add_argument("--accounts", type=int, default=50)
    p.add_argument("--single", type=int, default=3000, help="single reports to send")
    p.add_argument("--batched", type=int, default=30_000, help="calls sent in batches")
    p.add_argument("--consumed", type=int, default=30_000, help="calls sent on JetStream")
    p.add_argument("--server-root", default=str(ROOT),
                   help="serve the HTTP endpoints from this checkout (e.g. an older commit "
                        "exported with git archive, to compare single reports)")
    p.add_argument("--single-only", action="store_true", help="measure single reports only")
    return p.parse_args()


def world(accounts: int) -> dict:
    return {"now": NOW, "accounts": [{
        "ref": f"acct{i}", "email": f"acct{i}@example.com", "name": f"Account {i}",
        "password_hash": HASH, "demo_persona": False,
        "topups": [{"ref": f"TOP-{i}", "amount": "1000.00", "channel": "stripe",
                    "paid_at": "2026-11-26T09:00:00Z", "status": "paid"}],
        "grants": [{"kind": "gift", "amount": "5.00", "at": "2026-11-26T08:00:00Z"}],
    } for i in range(accounts)]}


HASH = ""  # set in main (one argon2 hash for every account: loading stays fast)


def calls(prefix: str, n: int, accounts: int, rng: random.Random) -> list[dict]:
    return [{"call_id": f"{prefix}-{i}", "account": f"acct{rng.randrange(accounts)}",
             "amount": f"0.00{rng.randint(1000, 9999)}", "billed_to": "credits",
             "at": "2026-11-26T11:30:00Z"} for i in range(n)]


async def single_reports(items: list[dict], concurrency: int = 16) -> float:
    import httpx

    queue = list(reversed(items))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=60) as client:
        async def worker():
            while queue:
                answer = await client.post("/api/usage", json=queue.pop(), headers=headers)
                assert answer.status_code == 200, answer.text
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def batches(items: list[dict], size: int = 1000, concurrency: int = 2) -> float:
    import httpx

    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    chunks.reverse()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=120) as client:
        async def worker():
            while chunks:
                answer = await client.post("/api/usage/batch", json={"calls": chunks.pop()},
                                           headers=headers)
                assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


async def jetstream(items: list[dict]) -> float:
    import nats

    from zenmux_refunds import config, usage_consumer

    cfg = config.settings()
    nc = await nats.connect(cfg.nats_url)
    js = nc.jetstream()
    await usage_consumer.ensure_stream(js, cfg)
    for i in range(0, len(items), 1000):
        acks = [await js.publish_async(cfg.nats_billed_subject, json.dumps(c).encode())
                for c in items[i:i + 1000]]
        await asyncio.gather(*acks)
    try:
        start = time.perf_counter()
        totals = await usage_consumer.consume(asyncio.Event(), until_idle=True)
        # the last fetch waited for nothing before it saw the stream was empty
        elapsed = time.perf_counter() - start - usage_consumer.FETCH_WAIT_SECONDS
        assert totals.recorded == len(items), totals
        return elapsed
    finally:
        await js.delete_stream(cfg.nats_stream)
        await nc.close()


def floor(n: int, accounts: list[int]) -> float:
    import sqlalchemy as sa

    from zenmux_refunds import db
    from zenmux_refunds.config import parse_instant
    from zenmux_refunds.models import UsageRecord

    at = parse_instant(NOW, field="now")
    rows = [{"call_id": f"floor-{i}", "account_id": accounts[i % len(accounts)], "at": at,
             "amount_micros": 1234, "billed_to": "credits", "running_total_micros": i,
             "recorded_at": at} for i in range(n)]
    table = UsageRecord.__table__
    start = time.perf_counter()
    for i in range(0, n, 1000):  # executemany: SQLAlchemy sends one multi-row VALUES
        with db.engine().begin() as conn:
            conn.execute(sa.insert(table), rows[i:i + 1000])
    return time.perf_counter() - start


def check_books(expected_calls: int) -> None:
    import sqlalchemy as sa
    from sqlmodel import select

    from zenmux_refunds import db
    from zenmux_refunds.models import Account, UsageRecord
    from zenmux_refunds.services import ledger

    with db.reading() as s:
        n = s.exec(select(sa.func.count()).select_from(UsageRecord)
                   .where(~UsageRecord.call_id.like("floor-%"))).one()
        assert n == expected_calls, (n, expected_calls)
        for account in s.exec(select(Account)).all():
            assert ledger.balances(s, account.id) == ledger.ledger_sums(s, account.id)


def main() -> None:
    global HASH
    args = parse_args()
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    from zenmux_refunds import config, db

    HASH = PasswordHasher().hash("bench-pass")
    name = f"zr_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(config._database_url_from(args.pg), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(config._database_url_from(args.pg)).set(database=name) \
        .render_as_string(hide_password=False)
    os.environ.update(DATABASE_URL=url, ZENMUX_NATS_URL=args.nats,
                      ZENMUX_NATS_STREAM=f"ZB_{name}", ZENMUX_NATS_SUBJECT_PREFIX=f"{name}.usage",
                      ZENMUX_NATS_DURABLE=f"zb-{name}", ZENMUX_NATS_BATCH="1000")
    config.settings.cache_clear()
    server = None
    log = tempfile.NamedTemporaryFile(prefix="usage-feed-server-", suffix=".log", delete=False)
    try:
        from sqlmodel import select

        from zenmux_refunds.models import Account
        from zenmux_refunds.services import scenarios

        scenarios.load(world(args.accounts))
        with db.reading() as s:
            account_ids = list(s.exec(select(Account.id)).all())
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/granian"), "--interface", "asgi", "--factory",
             "--host", "127.0.0.1", "--port", str(PORT), "--workers", "1",
             "--no-access-log", "--log-level", "warning", "zenmux_refunds.api:build"],
            cwd=args.server_root, env={**os.environ, "PYTHONPATH": args.server_root},
            stdout=log, stderr=log)
        _wait_for_port(PORT, server)
        rng = random.Random(13)
        single_items = calls("single", args.single, args.accounts, rng)
        batch_items = calls("batch", args.batched, args.accounts, rng)
        js_items = calls("js", args.consumed, args.accounts, rng)
        asyncio.run(single_reports(single_items[:200]))  # warm-up (counted: they are calls)
        results = []
        seconds = asyncio.run(single_reports(single_items[200:]))
        results.append(("single HTTP reports (16 clients)", len(single_items) - 200, seconds))
        if args.single_only:
            for label, n, secs in results:
                print(f"{label}: {n} calls in {secs:.2f} s, {n / secs:.0f} calls/s "
                      f"(server: {args.server_root})")
            return
        seconds = asyncio.run(batches(batch_items))
        results.append(("batches of 1,000 over HTTP (2 clients)", len(batch_items), seconds))
        seconds = asyncio.run(jetstream(js_items))
        results.append(("JetStream consumer (batches of 1,000)", len(js_items), seconds))
        check_books(len(single_items) + len(batch_items) + len(js_items))
        n_floor = args.batched
        floor_seconds = floor(n_floor, account_ids)
        floor_rate = n_floor / floor_seconds
        print(f"usage feed on PostgreSQL, {args.accounts} accounts, {os.cpu_count()} CPUs")
        print(f"{'path':<42} {'calls':>7} {'seconds':>8} {'calls/s':>8} {'of floor':>9}")
        for label, n, secs in results + [("floor: bare multi-row INSERT, 1,000/tx",
                                          n_floor, floor_seconds)]:
            rate = n / secs
            print(f"{label:<42} {n:>7} {secs:>8.2f} {rate:>8.0f} {rate / floor_rate:>8.1%}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        db.dispose_all()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _wait_for_port(port: int, proc) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see its log")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not listen on {port}")


if __name__ == "__main__":
    main()
