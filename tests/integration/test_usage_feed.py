"""The usage feed (SPEC §5) over real HTTP semantics (Starlette's test client on our
routes) against a real database: authentication, validation, idempotency, ordering."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from zenmux_refunds import api, config, db
from zenmux_refunds.models import Account, UsageRecord
from zenmux_refunds.services import ledger

TOKEN = "usage-token-for-tests"


@pytest.fixture
def client(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_USAGE_TOKEN", TOKEN)
    config.settings.cache_clear()
    with TestClient(api.build()) as c:
        yield c


def _post(client, body, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(api.USAGE_PATH, json=body, headers=headers)


def _call(call_id="call-1", **over):
    body = {"call_id": call_id, "account": "paul", "amount": "1.234567",
            "billed_to": "credits", "at": "2026-11-26T11:59:00Z"}
    body.update(over)
    return body


def _paul():
    with db.reading() as s:
        account = s.exec(select(Account).where(Account.ref == "paul")).one()
        return account, ledger.balances(s, account.id)


def test_a_call_is_recorded_once_and_drawn_from_the_wallet(client):
    account, before = _paul()
    first = _post(client, _call())
    assert first.status_code == 200 and first.json()["duplicate"] is False
    again = _post(client, _call())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    after_account, after = _paul()
    assert after_account.usage_credits_micros == account.usage_credits_micros + 1_234_567
    assert after.topup_micros == before.topup_micros - 1_234_567  # no bonus left: top-up
    with db.reading() as s:
        assert len(s.exec(select(UsageRecord).where(UsageRecord.call_id == "call-1")).all()) == 1
        assert ledger.ledger_sums(s, account.id) == ledger.balances(s, account.id)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_unauthenticated_reports_are_refused_and_change_nothing(client, token):
    account, before = _paul()
    answer = _post(client, _call(), token=token)
    assert answer.status_code == 401
    after_account, after = _paul()
    assert after == before
    assert after_account.usage_credits_micros == account.usage_credits_micros


@pytest.mark.parametrize("body,field", [
    (_call(amount="1.2345678"), "amount"),
    (_call(amount=1.5), "amount"),
    (_call(at="2026-11-26T11:59:00"), "at"),
    (_call(billed_to="both"), "billed_to"),
    (_call(call_id=""), "call_id"),
    ({**_call(), "extra": 1}, "extra"),
])
def test_bad_reports_name_the_field_and_change_nothing(client, body, field):
    _account, before = _paul()
    answer = _post(client, body)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(field)
    assert _paul()[1] == before


def test_unknown_account_is_404(client):
    answer = _post(client, _call(account="nobody"))
    assert answer.status_code == 404


def test_a_billed_call_before_approval_lowers_the_settled_amount(client):
    from zenmux_refunds.services import quotes, refunds

    answer = _post(client, _call(call_id="sub-call", account="alice", amount="1.00",
                                 billed_to="subscription"))
    assert answer.status_code == 200
    with db.reading() as s:
        alice = s.exec(select(Account).where(Account.ref == "alice")).one()
        kind, order_id = quotes.order_id_by_ref(s, alice, "SUB-1002")
    approved = refunds.approve(account_id=alice.id, kind=kind, order_id=order_id,
                               preview_final_cents=1571, actor=alice.email)
    # usage 3.456789 + 1.00 = 4.456789 -> $4.46; refundable $15.54; final floor(1554 * 0.95)
    assert approved.quote.final_cents == 1476 and approved.changed


def test_concurrent_single_reports_are_applied_together_and_each_counts_once(client):
    """Forty reports at once through the app (the group commit batches them): each is
    answered with its own outcome, a call id sent five times counts once, and the
    running total moves by exactly the distinct calls."""
    import asyncio

    import httpx

    account, before = _paul()
    bodies = [_call(f"burst-{i}", amount="0.010000") for i in range(35)]
    bodies += [_call("burst-same", amount="0.500000")] * 5

    async def send_all():
        transport = httpx.ASGITransport(app=api.build())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await asyncio.gather(*(
                c.post(api.USAGE_PATH, json=b, headers={"Authorization": f"Bearer {TOKEN}"})
                for b in bodies))

    from sqlalchemy import event

    locks = []
    count = lambda conn, cur, statement, *rest: locks.append(1) if "lock_version" in statement \
        else None  # noqa: E731
    event.listen(db.engine(), "before_cursor_execute", count)
    try:
        answers = asyncio.run(send_all())
    finally:
        event.remove(db.engine(), "before_cursor_execute", count)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len(locks) < 20, f"{len(locks)} transactions for 40 reports: not grouped"
    got = [a.json() for a in answers]
    assert [g["call_id"] for g in got] == [b["call_id"] for b in bodies]
    assert sum(not g["duplicate"] for g in got[-5:]) == 1
    assert not any(g["duplicate"] for g in got[:35])
    after_account, after = _paul()
    assert after_account.usage_credits_micros == account.usage_credits_micros + 35 * 10_000 + 500_000
    with db.reading() as s:
        assert len(s.exec(select(UsageRecord).where(UsageRecord.call_id.like("burst-%"))).all()) == 36
        assert ledger.ledger_sums(s, account.id) == ledger.balances(s, account.id)
