"""Still exact under load (issue 13 item 3): refund approvals of several accounts run
while the JetStream consumer and the batch endpoint apply thousands of calls for the
same accounts, some call ids sent both ways. Afterwards: every stored wallet equals its
ledger sums, every call id is counted exactly once, and every approval settled with
exactly the usage recorded before it took the account's lock.

Each call costs whole cents (1-5), so an approval that missed a call committed before
its lock, or counted one committed after, settles a different number of cents."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from tests.integration._helpers import person
from tests.integration.test_usage_consumer import (  # noqa: F401  (fixture)
    NATS_URL, _nats_reachable, nats_names)
from zenmux_refunds import api, config, db, usage_consumer
from zenmux_refunds.domain import money
from zenmux_refunds.models import Account, LedgerEntry, Refund, TopupOrder, UsageRecord
from zenmux_refunds.services import ledger, quotes, refunds, scenarios

pytestmark = pytest.mark.skipif(not _nats_reachable(),
                                reason=f"no NATS server with JetStream at {NATS_URL}")

TOKEN = "usage-token-for-tests"
NOW = "2026-11-26T12:00:00Z"
REFS = ("lia", "max", "noa")
TOPUPS = 4
CALLS_PER_WAY = 1500  # per path (consumer, HTTP batches); 300 ids go both ways


def _holder(ref: str) -> dict:
    return person(ref, topups=[
        {"ref": f"{ref.upper()}-{i}", "amount": "100.00", "channel": "stripe",
         "paid_at": f"2026-11-26T0{i}:00:00Z", "status": "paid"} for i in range(1, TOPUPS + 1)],
        grants=[{"kind": "gift", "amount": "3.00", "at": "2026-11-26T00:30:00Z"}])


@pytest.fixture
def world(database_url, frozen_now, nats_names, monkeypatch):
    scenarios.load({"now": NOW, "accounts": [_holder(r) for r in REFS]})
    monkeypatch.setenv("ZENMUX_USAGE_TOKEN", TOKEN)
    monkeypatch.setenv("ZENMUX_NATS_BATCH", "50")
    config.settings.cache_clear()
    return database_url


def _call(call_id: str, rng: random.Random) -> dict:
    return {"call_id": call_id, "account": rng.choice(REFS),
            "amount": f"0.0{rng.randint(1, 5)}0000", "billed_to": "credits",
            "at": "2026-11-26T11:00:00Z"}


def _wait_for_calls(n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.reading() as s:
            if s.exec(select(sa.func.count()).select_from(UsageRecord)).one() >= n:
                return
        time.sleep(0.005)


def test_approvals_settle_exactly_while_thousands_of_calls_arrive(world):
    rng = random.Random(1313)
    via_nats = [_call(f"n{i}", rng) for i in range(CALLS_PER_WAY)]
    via_http = [_call(f"h{i}", rng) for i in range(CALLS_PER_WAY - 300)] + via_nats[::5]
    rng.shuffle(via_http)
    expected = {c["call_id"]: c for c in via_nats + via_http}

    async def publish():
        cfg = config.settings()
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await usage_consumer.ensure_stream(js, cfg)
        acks = [await js.publish_async(cfg.nats_billed_subject, json.dumps(c).encode())
                for c in via_nats]
        await asyncio.gather(*acks)
        await nc.close()

    import nats

    asyncio.run(publish())
    accounts = {}
    with db.reading() as s:
        for ref in REFS:
            account = s.exec(select(Account).where(Account.ref == ref)).one()
            accounts[ref] = (account.id, [quotes.order_id_by_ref(s, account, f"{ref.upper()}-{i}")
                                          for i in range(1, TOPUPS + 1)])
    errors: list[BaseException] = []
    approved: list[refunds.Approved] = []
    refused: list[str] = []
    started = threading.Event()

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
        return run

    def consumer():
        started.wait(10)
        asyncio.run(usage_consumer.consume(asyncio.Event(), until_idle=True))

    def http_batches():
        with TestClient(api.build()) as client:
            started.set()
            for i in range(0, len(via_http), 50):
                answer = client.post(api.USAGE_BATCH_PATH, json={"calls": via_http[i:i + 50]},
                                     headers={"Authorization": f"Bearer {TOKEN}"})
                assert answer.status_code == 200, answer.text
                assert answer.json()["rejected"] == 0

    def approvals(refs):
        def run():
            started.wait(10)
            order = [(ref, k) for k in range(TOPUPS) for ref in refs]
            for n, (ref, k) in enumerate(order):
                # spread the approvals over the traffic: each waits for its share of calls
                _wait_for_calls(len(expected) * (n + 1) // (len(order) + 2))
                account_id, orders = accounts[ref]
                kind, order_id = orders[k]
                try:
                    approved.append(refunds.request_refund(
                        account_id=account_id, kind=kind, order_id=order_id,
                        actor=f"{ref}@example.com", dispatch=lambda _refund_id: None))
                except refunds.RefundRefused as exc:
                    refused.append(str(exc))
        return run

    threads = [threading.Thread(target=guarded(f)) for f in
               (consumer, http_batches, approvals(REFS[:2]), approvals(REFS[2:]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    assert not errors, errors
    assert len(approved) >= 6, (approved, refused)

    with db.reading() as s:
        records = s.exec(select(UsageRecord)).all()
        # every call id counted exactly once, with its own account and amount
        assert sorted(r.call_id for r in records) == sorted(expected)
        ids = {a_id: ref for ref, (a_id, _o) in accounts.items()}
        for r in records:
            call = expected[r.call_id]
            assert (ids[r.account_id], r.amount_micros) == (
                call["account"], money.parse_money(call["amount"], places=6, field="amount"))
        for ref, (account_id, _orders) in accounts.items():
            account = s.get(Account, account_id)
            own = sorted((r for r in records if r.account_id == account_id), key=lambda r: r.id)
            # the running totals follow the records one by one, and end at the account's
            assert [r.running_total_micros for r in own] == \
                [sum(x.amount_micros for x in own[:n + 1]) for n in range(len(own))]
            assert account.usage_credits_micros == own[-1].running_total_micros
            assert ledger.balances(s, account_id) == ledger.ledger_sums(s, account_id), ref
        # each approval settled with the usage recorded before its lock: the running
        # total of the last call whose ledger line precedes the refund's debit
        interleaved = 0
        for a in approved:
            refund = s.get(Refund, a.refund_id)
            order = s.get(TopupOrder, refund.topup_order_id)
            debit = s.exec(select(sa.func.min(LedgerEntry.id))
                           .where(LedgerEntry.refund_id == refund.id)).one()
            last_usage = s.exec(
                select(UsageRecord.running_total_micros)
                .join(LedgerEntry, LedgerEntry.usage_id == UsageRecord.id)
                .where(UsageRecord.account_id == refund.account_id, LedgerEntry.id < debit)
                .order_by(UsageRecord.id.desc()).limit(1)).first() or 0
            since = max(last_usage - order.usage_mark_micros, 0)
            later = s.exec(select(sa.func.count()).select_from(LedgerEntry).where(
                LedgerEntry.account_id == refund.account_id, LedgerEntry.id > debit,
                LedgerEntry.usage_id.is_not(None))).one()
            interleaved += bool(last_usage and later)
            assert refund.usage_cents == money.micros_to_cents_up(since), (
                f"{refund.ref}: settled usage {refund.usage_cents}c, but the calls before "
                f"its lock came to {since} micros")
        # the approvals really ran among the calls (not all before or after them)
        assert interleaved >= 3, interleaved
