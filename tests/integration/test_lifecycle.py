"""The refund lifecycle as one use case (``refunds.request_refund``): approval, then
dispatch after the commit; provider capabilities instead of names; stuck refunds
escalated to support; an e-mail request decided in the approval's own transaction.
Against the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from tests.integration._helpers import (
    account_by_ref,
    assert_ledger_balances,
    refund_actions,
    refund_row,
)
from zenmux_refunds import clock, config, db
from zenmux_refunds.models import Account, EmailRequest, Refund
from zenmux_refunds.services import billing, console, quotes, refunds, requests


def _order(account_ref: str, order_ref: str) -> tuple[Account, str, int]:
    account = account_by_ref(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return account, kind, order_id


def _request_refund(account_ref: str, order_ref: str, dispatch) -> refunds.Approved:
    account, kind, order_id = _order(account_ref, order_ref)
    return refunds.request_refund(account_id=account.id, kind=kind, order_id=order_id,
                                  actor=account.email, dispatch=dispatch)


def _bank_transfer_request() -> int:
    """paul's e-mail request for TOP-3004, paid by bank transfer (no provider)."""
    filed = requests.file_request(
        account_by_ref("paul").id, contact="paul@example.com",
        purchase_at="2026-11-26 10:00", amount="10.00", unused_balance="$179.37",
        reason="Paid by bank transfer by mistake")
    with db.reading() as s:
        return s.exec(select(EmailRequest.id).where(EmailRequest.ref == filed.ref)).one()


def _sam() -> int:
    return account_by_ref("sam").id


def _needing_attention() -> list[str]:
    rows = console.list_refunds(_sam(), status="needs_attention", page_size=100).rows
    return [r.ref for r in rows]


def _settings(monkeypatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    yield
    config.settings.cache_clear()


# ------------------------------------------------------------------ one use case


def test_request_refund_approves_then_sends_after_the_commit(example_db):
    """send_now: the provider is asked once the approval is committed, in that order."""
    seen: list[tuple[str, object]] = []

    def dispatch(refund_id: int) -> str:
        # the approval is committed: another session sees the refund, not yet sent
        row = refund_row(refund_id)
        seen.append((row.status, row.submitted_at))
        return refunds.send_now(refund_id)

    approved = _request_refund("paul", "TOP-3001", dispatch)
    assert seen == [("refunding", None)]
    assert refund_actions(approved.refund_id)[:1] == ["approved"]
    assert "sent" in refund_actions(approved.refund_id)
    assert refund_row(approved.refund_id).submitted_at is not None
    assert_ledger_balances()


def test_send_soon_returns_at_once_and_the_refund_is_sent(example_db):
    approved = _request_refund("paul", "TOP-3001", refunds.send_soon)
    deadline = time.monotonic() + 10
    while refund_row(approved.refund_id).submitted_at is None:
        assert time.monotonic() < deadline, "send_soon never sent the refund"
        time.sleep(0.05)
    assert refund_actions(approved.refund_id)[0] == "approved"


def test_a_dispatch_that_never_happens_is_sent_by_the_reconciler(example_db):
    """The process dies between the commit and the call: nothing is lost."""
    approved = _request_refund("paul", "TOP-3001", lambda refund_id: None)
    assert refund_row(approved.refund_id).submitted_at is None
    assert refunds.process_refunding() == 1
    assert refund_row(approved.refund_id).submitted_at is not None
    assert refund_actions(approved.refund_id) == ["approved", "bonus_forfeited",
                                                  "referral_revoked", "sent"]


def test_a_refused_request_dispatches_nothing(example_db):
    dispatched: list[int] = []
    with pytest.raises(refunds.RefundRefused):
        _request_refund("paul", "TOP-3005", dispatched.append)  # a pending payment
    assert dispatched == []


# ------------------------------------------------------------------ capabilities


def test_a_refund_paid_by_hand_is_never_asked_about_again(example_db):
    """TOP-3004 was paid by bank transfer: the Manual provider is told once, then
    support pays it out; the reconciler does not ask it again (no "inquired" noise)."""
    request_id = _bank_transfer_request()
    ref = requests.approve(_sam(), request_id)
    with db.reading() as s:
        refund = s.exec(select(Refund).where(Refund.ref == ref)).one()
    assert refund_actions(refund.id).count("sent") == 1
    assert refunds.process_refunding(force=True) == 0
    assert "inquired" not in refund_actions(refund.id)
    assert refund_row(refund.id).inquiries == 0
    [row] = [r for r in console.list_refunds(_sam(), page_size=100).rows
             if r.ref == ref]
    assert row.can_pay_out is True
    assert console.record_payout(_sam(), refund.id) == "refunded"


# ------------------------------------------------------------------ stuck refunds


def test_a_refund_still_refunding_after_n_inquiries_needs_attention(example_db, monkeypatch):
    _settings(monkeypatch, ZENMUX_STUCK_AFTER_INQUIRIES="2", ZENMUX_SANDBOX_SETTLE_SECONDS="600")
    approved = _request_refund("paul", "TOP-3001", refunds.send_now)
    refunds.process_refunding(force=True)  # inquiry 1
    assert refund_row(approved.refund_id).attention is None
    assert approved.refund_ref not in _needing_attention()
    refunds.process_refunding(force=True)  # inquiry 2: stuck
    refund = refund_row(approved.refund_id)
    assert (refund.status, refund.inquiries, refund.attention) == ("refunding", 2, "stuck")
    assert approved.refund_ref in _needing_attention()
    # the customer still reads Refunding: it is still being processed
    status = billing.refund_status(account_by_ref("paul").id, approved.refund_id)
    assert status.label == "Refunding"
    refunds.process_refunding(force=True)
    assert refund_actions(approved.refund_id).count("needs_attention") == 1  # flagged once

    # the provider answers at last: the refund ends and the flag closes by itself
    _settings(monkeypatch, ZENMUX_SANDBOX_SETTLE_SECONDS="0")
    refunds.process_refunding(force=True)
    refund = refund_row(approved.refund_id)
    assert refund.status == "refunded" and refund.attention_resolved_at is not None
    assert approved.refund_ref not in _needing_attention()
    assert_ledger_balances()


def test_a_refund_sent_longer_ago_than_the_limit_needs_attention(example_db, monkeypatch):
    _settings(monkeypatch, ZENMUX_STUCK_AFTER_HOURS="72", ZENMUX_SANDBOX_SETTLE_SECONDS="600")
    approved = _request_refund("paul", "TOP-3001", refunds.send_now)
    sent_at = refund_row(approved.refund_id).submitted_at
    real_now = clock.real_now
    monkeypatch.setattr(clock, "real_now", lambda: sent_at + timedelta(hours=71, minutes=59))
    assert refunds.escalate_stuck() == 0
    monkeypatch.setattr(clock, "real_now", lambda: sent_at + timedelta(hours=72))
    assert refunds.escalate_stuck() == 1
    assert refund_row(approved.refund_id).attention == "stuck"
    assert refunds.escalate_stuck() == 0
    monkeypatch.setattr(clock, "real_now", real_now)


def test_scenario_refunds_are_never_escalated(example_db, monkeypatch):
    """Refunds that came with a scenario never reached a provider (support acts)."""
    _settings(monkeypatch, ZENMUX_STUCK_AFTER_INQUIRIES="1", ZENMUX_STUCK_AFTER_HOURS="1")
    later = datetime.now(timezone.utc) + timedelta(days=400)
    monkeypatch.setattr(clock, "real_now", lambda: later)
    refunds.process_refunding(force=True)
    with db.reading() as s:
        flagged = s.exec(select(Refund).where(Refund.attention.is_not(None))).all()
    assert flagged == []


# ------------------------------------------------------------------ e-mail requests


def test_a_request_denied_while_it_is_approved_is_never_both(example_db, monkeypatch):
    """Support denies the request just as another agent's approval starts: the
    approval checks the request under the account's lock, in its own transaction, and
    refuses — no refund, the customer is told Denied and nothing else.

    Before issue 10 the request became Approved in a second transaction after the
    approval: this test failed with a refund made for a request shown Approved over
    the denial."""
    request_id = _bank_transfer_request()
    with db.reading() as s:
        refunds_before = len(s.exec(select(Refund)).all())
    real_approve = refunds.approve

    def deny_first(**kwargs):
        requests.deny(_sam(), request_id, "Bank transfers are refunded by the bank")
        return real_approve(**kwargs)

    monkeypatch.setattr(refunds, "approve", deny_first)
    with pytest.raises(refunds.RefundRefused, match="not pending"):
        requests.approve(_sam(), request_id)
    with db.reading() as s:
        row = s.get(EmailRequest, request_id)
        assert (row.status, row.refund_id) == ("denied", None)
        assert len(s.exec(select(Refund)).all()) == refunds_before
    assert_ledger_balances()
