"""Batches of billed calls (``POST /api/usage/batch`` and ``usage.ingest_batch``) against
a real database: the same books as recording the calls one by one, each call answered
in order, bad calls refused alone, one lock and one multi-row INSERT per account."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import select
from starlette.testclient import TestClient

from tests.integration._helpers import person
from zenmux_refunds import api, clock, config, db
from zenmux_refunds.config import parse_instant
from zenmux_refunds.models import Account, LedgerEntry, UsageRecord
from zenmux_refunds.services import ledger, scenarios, usage

TOKEN = "usage-token-for-tests"
NOW = "2026-11-26T12:00:00Z"


def _twin(ref: str) -> dict:
    # $2 of gift credit (bonus) and a $10 top-up: draws cross from bonus into top-up
    # and, past $12, overdraw the top-up bucket.
    return person(ref, topups=[{"ref": f"{ref.upper()}-1", "amount": "10.00",
                                "channel": "stripe", "paid_at": "2026-11-26T09:00:00Z",
                                "status": "paid"}],
                  grants=[{"kind": "gift", "amount": "2.00", "at": "2026-11-26T08:00:00Z"}])


WORLD = {"now": NOW, "accounts": [_twin("one"), _twin("bat"), _twin("cat"), _twin("dog")]}


@pytest.fixture
def world(database_url, frozen_now):
    scenarios.load(WORLD)
    return database_url


@pytest.fixture
def client(world, monkeypatch):
    monkeypatch.setenv("ZENMUX_USAGE_TOKEN", TOKEN)
    config.settings.cache_clear()
    with TestClient(api.build()) as c:
        yield c


def _account(ref: str) -> Account:
    with db.reading() as s:
        return s.exec(select(Account).where(Account.ref == ref)).one()


def _call(call_id: str, account: str = "bat", amount: str = "0.250000",
          billed_to: str = "credits", at: str = "2026-11-26T11:00:00Z") -> dict:
    return {"call_id": call_id, "account": account, "amount": amount,
            "billed_to": billed_to, "at": at}


def _books(ref: str):
    """(usage records as (suffix of call id, amount, billed_to, running total),
    ledger usage lines as (suffix, bucket, amount), wallet, usage totals)."""
    account = _account(ref)
    with db.reading() as s:
        records = s.exec(select(UsageRecord).where(UsageRecord.account_id == account.id)
                         .order_by(UsageRecord.id)).all()
        by_id = {r.id: r.call_id.split(":", 1)[-1] for r in records}
        lines = s.exec(select(LedgerEntry).where(LedgerEntry.account_id == account.id,
                                                 LedgerEntry.usage_id.is_not(None))
                       .order_by(LedgerEntry.id)).all()
        stored = ledger.balances(s, account.id)
        assert stored == ledger.ledger_sums(s, account.id)
        return ([(r.call_id.split(":", 1)[-1], r.amount_micros, r.billed_to,
                  r.running_total_micros, r.at) for r in records],
                [(by_id[e.usage_id], e.bucket, e.amount_micros, e.at) for e in lines],
                stored, (account.usage_credits_micros, account.usage_subscription_micros))


def test_a_batch_keeps_the_same_books_as_recording_each_call(world):
    """Account "one" gets the calls one by one through usage.record; "bat" the same
    calls in batches. Running totals, bonus-first draws, ledger lines, duplicates and
    balances must come out identical."""
    rng = random.Random(13)
    base = parse_instant("2026-11-26T10:00:00Z", field="t")
    calls = []
    for i in range(240):
        amount = rng.choice([0, 1, 999_999, 123_456, 250_000, 1_000_000])
        billed = rng.choice(["credits", "credits", "credits", "subscription"])
        calls.append((f"c{i}", amount, billed, base + timedelta(seconds=i)))
    calls += [calls[5], calls[100], calls[239]]  # repeats: counted once
    one = _account("one")
    for call_id, amount, billed, at in calls:
        with db.transaction() as s:
            ledger.lock_account(s, one.id)
            account = s.get(Account, one.id)
            usage.record(s, account=account, call_id=f"one:{call_id}", at=at,
                         amount_micros=amount, billed_to=billed, recorded_at=clock.now(s))
    payloads = [{"call_id": f"bat:{c}", "account": "bat",
                 "amount": f"{a // 10**6}.{a % 10**6:06d}", "billed_to": b,
                 "at": at.isoformat()} for c, a, b, at in calls]
    # two batches, the second repeating some calls of the first and itself
    first = usage.ingest_batch(payloads[:150])
    second = usage.ingest_batch(payloads[140:] + payloads[:3])
    assert first.counts() == {"recorded": 150, "duplicate": 0, "rejected": 0}
    assert second.counts() == {"recorded": 90, "duplicate": 16, "rejected": 0}
    assert _books("bat") == _books("one")
    # the wallet crossed from bonus into top-up and past zero: every branch ran
    held = _books("bat")[2]
    assert held.bonus_micros == 0 and held.topup_micros < 0


def test_the_answer_lists_each_call_in_order_and_bad_calls_change_nothing(client):
    before = _books("cat")
    body = {"calls": [
        _call("k1", "cat"),
        _call("k2", "cat", amount="1.2345678"),      # 7 decimals
        _call("k3", "nobody"),                        # unknown account
        _call("k1", "cat"),                           # repeat within the batch
        {"call_id": "k4", "account": "cat", "amount": "0.10", "at": "2026-11-26T11:00:00"},
        "not an object",
        _call("k5", "dog", billed_to="subscription"),
        _call("k6", "cat@example.com", amount="0.50"),  # by e-mail
    ]}
    answer = client.post(api.USAGE_BATCH_PATH, json=body,
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    results = got["results"]
    assert [r["call_id"] for r in results] == ["k1", "k2", "k3", "k1", "k4", None, "k5", "k6"]
    assert results[0] == {"call_id": "k1", "recorded": True, "duplicate": False}
    assert results[1]["error"].startswith("amount")
    assert results[2]["error"] == "account: no account 'nobody'"
    assert results[3] == {"call_id": "k1", "recorded": True, "duplicate": True}
    assert results[4]["error"].startswith("at")
    assert results[5]["error"].startswith("body")
    assert results[6] == {"call_id": "k5", "recorded": True, "duplicate": False}
    assert results[7] == {"call_id": "k6", "recorded": True, "duplicate": False}
    assert (got["recorded"], got["duplicate"], got["rejected"]) == (3, 1, 4)
    after = _books("cat")
    assert [r[0] for r in after[0]] == [r[0] for r in before[0]] + ["k1", "k6"]
    assert after[3][0] == before[3][0] + 750_000
    # a second send of the whole batch records nothing more
    again = client.post(api.USAGE_BATCH_PATH, json=body,
                        headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert (again["recorded"], again["duplicate"], again["rejected"]) == (0, 4, 4)
    assert _books("cat") == after


def _post_raw(client, content, headers=None):
    return client.post(api.USAGE_BATCH_PATH, content=content,
                       headers={"Authorization": f"Bearer {TOKEN}",
                                "Content-Type": "application/json", **(headers or {})})


def test_batch_limits_are_enforced_and_change_nothing(client):
    import json

    before = _books("cat")
    too_many = {"calls": [_call(f"m{i}", "cat", amount="0.01") for i in range(1001)]}
    answer = _post_raw(client, json.dumps(too_many))
    assert answer.status_code == 413 and answer.json()["error"].startswith("calls")

    # over 1 MiB, streamed without a Content-Length: refused while it streams
    pad = "x" * 300
    big = json.dumps({"calls": [{**_call(f"b{i}", "cat"), "account": "cat" + pad}
                                for i in range(3000)]}).encode()
    assert len(big) > usage.MAX_BATCH_BYTES

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    answer = _post_raw(client, chunks())
    assert answer.status_code == 413
    answer = _post_raw(client, big)  # with a Content-Length: refused before reading
    assert answer.status_code == 413

    for bad in [b"[]", b'{"calls": {}}', b'{"calls": [], "x": 1}', b"{", b"\xff"]:
        answer = _post_raw(client, bad)
        assert answer.status_code == 400 and answer.json()["error"].startswith("body"), bad
    answer = client.post(api.USAGE_BATCH_PATH, json={"calls": [_call("u1", "cat")]},
                         headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401
    assert _books("cat") == before
    # exactly 1000 calls is a batch
    full = {"calls": [_call(f"f{i}", "cat", amount="0.000001") for i in range(1000)]}
    answer = _post_raw(client, json.dumps(full))
    assert answer.status_code == 200 and answer.json()["recorded"] == 1000


def test_one_lock_and_one_multi_row_insert_per_account(world):
    engine = db.engine()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()).upper())

    payloads = [_call(f"s{ref}{i}", ref) for i in range(200) for ref in ("bat", "cat", "dog")]
    payloads += [_call(f"sub{i}", "dog", billed_to="subscription") for i in range(50)]
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = usage.ingest_batch(payloads)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result.counts() == {"recorded": 650, "duplicate": 0, "rejected": 0}
    locks = [s for s in statements if "LOCK_VERSION" in s]
    usage_inserts = [s for s in statements if s.startswith("INSERT INTO USAGERECORD")]
    ledger_inserts = [s for s in statements if s.startswith("INSERT INTO LEDGERENTRY")]
    # the three accounts locked once each, by one statement, in id order
    assert len(locks) == 1 and "ORDER BY ACCOUNT.ID" in locks[0], locks
    if world.startswith("postgresql"):
        assert "FOR UPDATE" in locks[0], locks
    assert len(usage_inserts) == 1 and len(ledger_inserts) == 1, statements
    # the whole batch: BEGIN (SQLite), lookup, lock, clock, duplicates, usage insert,
    # wallets, ledger insert, wallet and account updates
    assert len(statements) <= 10, "\n".join(statements)
    for ref in ("bat", "cat", "dog"):
        _books(ref)  # stored balances equal ledger sums
