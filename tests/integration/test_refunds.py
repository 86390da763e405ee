"""The refund use cases against a real database (SQLite, and PostgreSQL in CI):
approval effects, the provider verdicts, reversals, ownership and single approval."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.integration._helpers import (
    account_by_ref as _account,
)
from tests.integration._helpers import (
    assert_ledger_balances as _assert_ledger_balances,
)
from tests.integration._helpers import (
    balances_of as _balances,
)
from zenmux_refunds import config, db
from zenmux_refunds.domain import money
from zenmux_refunds.models import (
    Account,
    CurrentPlan,
    Grant,
    LedgerEntry,
    ReferralReward,
    Refund,
    RefundEvent,
)
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import ledger, quotes, refunds, sandbox_control, usage


def _order(account_ref: str, order_ref: str) -> tuple[Account, str, int]:
    account = _account(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return account, kind, order_id


def _approve(account_ref: str, order_ref: str, preview: int | None = None) -> refunds.Approved:
    account, kind, order_id = _order(account_ref, order_ref)
    return refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                           preview_final_cents=preview, actor=account.email)


def _plan(account_ref: str) -> str:
    with db.reading() as s:
        return s.get(CurrentPlan, _account(account_ref).id).plan


def _refunds_of(account_ref: str) -> list[Refund]:
    with db.reading() as s:
        return list(s.exec(select(Refund).where(Refund.account_id == _account(account_ref).id,
                                                Refund.source == "self")).all())






def test_subscription_refund_downgrades_at_once_and_settles(example_db):
    approved = _approve("alice", "SUB-1002", preview=1571)
    # $20.00 paid, usage $3.456789 -> $3.46, refundable $16.54, final floor(1654*0.95)
    assert (approved.quote.final_cents, approved.quote.fee_cents) == (1571, 83)
    assert not approved.changed
    assert _plan("alice") == "Free"
    [refund] = _refunds_of("alice")
    assert refund.status == "refunding" and refund.open_key is not None
    assert refunds.finish(refund.id, Outcome.SUCCEEDED, actor="provider:test") == "refunded"
    assert _plan("alice") == "Free"
    with db.reading() as s:
        actions = [e.action for e in s.exec(select(RefundEvent).where(
            RefundEvent.refund_id == refund.id).order_by(RefundEvent.id)).all()]
    assert actions == ["approved", "plan_downgraded", "refunded"]


def test_failed_subscription_refund_restores_the_plan(example_db):
    approved = _approve("alice", "SUB-1002")
    assert _plan("alice") == "Free"
    assert refunds.finish(approved.refund_id, Outcome.FAILED, actor="provider:test") == "failed"
    assert _plan("alice") == "Pro"
    # Failed counts nothing: the order can be refunded again.
    again = _approve("alice", "SUB-1002")
    assert again.quote.final_cents == 1571


def test_second_approval_of_the_same_order_is_refused(example_db):
    _approve("alice", "SUB-1002")
    with pytest.raises(refunds.RefundRefused, match="Refund in progress"):
        _approve("alice", "SUB-1002")
    assert len(_refunds_of("alice")) == 1


@pytest.mark.parametrize("account_ref,order_ref,reason", [
    ("alice", "SUB-1001", "Refund window expired"),
    ("gary", "SUB-1501", "Gift subscriptions are not eligible for refunds"),
    ("hana", "SUB-2001", "Usage exceeds refundable amount"),
    ("paul", "TOP-3004", "Not refundable online — request by email"),
    ("ivan", "TOP-5001", "Insufficient balance"),
    ("rita", "TOP-4001", "Refund in progress"),
])
def test_ineligible_orders_are_refused_and_nothing_changes(example_db, account_ref, order_ref, reason):
    before = _balances(account_ref)
    plan = _plan(account_ref)
    with pytest.raises(refunds.RefundRefused) as refused:
        _approve(account_ref, order_ref)
    assert str(refused.value) == reason
    assert _refunds_of(account_ref) == []
    assert _balances(account_ref) == before and _plan(account_ref) == plan


def test_another_accounts_order_is_not_found_and_nothing_changes(example_db):
    gary = _account("gary")
    _alice, kind, order_id = _order("alice", "SUB-1002")
    with pytest.raises(quotes.NotYourOrder):
        refunds.approve(account_id=gary.id, kind=kind, order_id=order_id,
                        preview_final_cents=None, actor=gary.email)
    assert _plan("alice") == "Pro"
    with db.reading() as s:
        assert s.exec(select(Refund).where(Refund.source == "self")).all() == []


def test_topup_refund_debits_forfeits_revokes_and_settles(example_db):
    approved = _approve("paul", "TOP-3001", preview=4072)
    assert (approved.quote.final_cents, approved.quote.fee_cents) == (4072, 215)
    # 179.376543 - refundable 42.87
    assert money.format_usd_micros(_balances("paul").topup_micros) == "$136.50"
    with db.reading() as s:
        reward = s.exec(select(ReferralReward)).one()
        assert reward.status == "revoked"
    # TOP-3002's quote is unchanged by the refund of another order.
    paul, kind, order_id = _order("paul", "TOP-3002")
    with db.reading() as s:
        from zenmux_refunds import clock
        q = quotes.quote_order(s, paul, kind, order_id, clock.now(s)).decision.quote
    assert (q.final_cents, q.final_charged_minor) == (9404, 67708)
    refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:test")
    assert money.format_usd_micros(_balances("paul").topup_micros) == "$136.50"
    _assert_ledger_balances()


def test_failed_topup_refund_reverses_every_effect_exactly(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_SANDBOX_SETTLE_SECONDS", "0")
    config.settings.cache_clear()
    sandbox_control.set_outcome("TOP-6002", "fail")
    before = _balances("fiona")
    approved = _approve("fiona", "TOP-6002")
    assert (approved.quote.final_cents, approved.quote.fee_cents) == (1425, 75)
    assert _balances("fiona").topup_micros == before.topup_micros - 1500 * money.MICROS_PER_CENT
    assert refunds.send(approved.refund_id) == "failed"  # Sandbox with no delay
    assert _balances("fiona") == before
    assert money.format_usd_micros(_balances("fiona").topup_micros) == "$15.00"
    _assert_ledger_balances()


def test_referral_reward_is_granted_when_the_window_closes(example_db):
    from zenmux_refunds.services import demo, rewards

    assert rewards.grant_due() == 0  # TOP-3001's window is open until 20:00
    demo.advance_clock(timedelta(hours=8))  # exactly 24h after payment: closed
    assert rewards.grant_due() == 1
    assert rewards.grant_due() == 0  # once
    # rita: $5.00 referral granted earlier + this $5.00
    assert _balances("rita").bonus_micros == 10 * money.MICROS_PER_DOLLAR
    with db.reading() as s:
        reward = s.exec(select(ReferralReward)).one()
        grant = s.get(Grant, reward.grant_id)
    assert reward.status == "granted" and grant.kind == "referral"
    _assert_ledger_balances()


def test_in_flight_usage_changes_the_settled_amount(example_db):
    paul, kind, order_id = _order("alice", "SUB-1002")
    with db.transaction() as s:
        ledger.lock_account(s, paul.id)
        acct = s.get(Account, paul.id)
        usage.record(s, account=acct, call_id="call-in-flight-1", at=acct.created_at,
                     amount_micros=1_000_000, billed_to=usage.SUBSCRIPTION,
                     recorded_at=acct.created_at)
    approved = refunds.approve(account_id=paul.id, kind=kind, order_id=order_id,
                               preview_final_cents=1571, actor="alice@example.com")
    # usage 4.456789 -> $4.46, refundable $15.54, final floor(1554*0.95) = 1476
    assert approved.quote.final_cents == 1476 and approved.changed


def test_cancel_before_sending_reverses_and_after_sending_is_refused(example_db):
    before = _balances("paul")
    approved = _approve("paul", "TOP-3002")
    paul = _account("paul")
    assert refunds.cancel(approved.refund_id, actor="paul@example.com",
                          account_id=paul.id) == "canceled"
    assert _balances("paul") == before
    second = _approve("paul", "TOP-3002")
    refunds.send(second.refund_id)
    with pytest.raises(refunds.RefundRefused):
        refunds.cancel(second.refund_id, actor="paul@example.com", account_id=paul.id)
    with pytest.raises(quotes.NotYourOrder):
        refunds.cancel(second.refund_id, actor="rita", account_id=_account("rita").id)


def test_repeated_and_out_of_order_verdicts_change_nothing_twice(example_db):
    approved = _approve("paul", "TOP-3002")
    assert refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="p") == "refunded"
    assert refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="p") == "refunded"
    after_success = _balances("paul")
    # A refund the provider reported succeeded can still fail later: reversed once.
    assert refunds.finish(approved.refund_id, Outcome.FAILED, actor="p") == "failed"
    reversed_once = _balances("paul")
    assert reversed_once.topup_micros == after_success.topup_micros + 9899 * money.MICROS_PER_CENT
    assert refunds.finish(approved.refund_id, Outcome.FAILED, actor="p") == "failed"
    assert refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="p") == "failed"
    assert _balances("paul") == reversed_once
    _assert_ledger_balances()


def test_concurrent_approvals_create_one_refund(example_db):
    account, kind, order_id = _order("paul", "TOP-3001")
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt():
        barrier.wait()
        try:
            refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                            preview_final_cents=None, actor=account.email)
            results.append("approved")
        except refunds.RefundRefused as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("approved") == 1, results
    assert set(results) - {"approved"} <= {"Refund in progress"}
    assert len(_refunds_of("paul")) == 1
    assert money.format_usd_micros(_balances("paul").topup_micros) == "$136.50"
    with db.reading() as s:
        debits = s.exec(select(LedgerEntry).where(LedgerEntry.kind == "refund",
                                                  LedgerEntry.account_id == account.id)).all()
    assert len(debits) == 1
    _assert_ledger_balances()
