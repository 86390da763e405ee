"""A provider's "succeeded" for a refund we hold as Canceled or Failed (issue 10).

It is never dropped: the refund keeps its status (its effects stay reversed, the ledger
is untouched), is flagged ``paid_after_close`` with the provider's evidence in its audit
trail, shows in the support console under "needs attention", reads "Under review" to
the customer, blocks another refund of the order, and a repeat changes nothing twice.
The verdicts arrive through ``refunds.finish``, the function the Stripe webhook, the
Antom notification and the reconciler all apply verdicts with."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from tests.integration._helpers import (
    approve_by_ref as _approve,
)
from tests.integration._helpers import (
    assert_ledger_balances as _assert_ledger_balances,
)
from tests.integration._helpers import (
    balances_of as _balances,
)
from tests.integration._helpers import (
    refund_events,
    refund_row,
)
from zenmux_refunds import db
from zenmux_refunds.models import Account, LedgerEntry, Refund
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import (
    billing,
    console,
    refunds,
    sandbox_control,
)
from zenmux_refunds.services.views import StatusTag


def _id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(Account.id).where(Account.ref == ref)).one()






def _ledger_rows() -> int:
    with db.reading() as s:
        return len(s.exec(select(LedgerEntry)).all())




def _closed(how: str) -> int:
    """Paul's TOP-3002 refund, approved then closed: canceled unsent by paul, or failed
    by the Sandbox (told to fail, settling at once). Its effects are reversed."""
    approved = _approve("paul", "TOP-3002")
    if how == "canceled":
        assert refunds.cancel(approved.refund_id, actor="paul@example.com",
                              account_id=_id("paul")) == "canceled"
    else:
        sandbox_control.set_outcome("TOP-3002", "fail")
        assert refunds.send(approved.refund_id) == "failed"
    return approved.refund_id


VERDICTS = {  # how each provider's late verdict reaches finish
    "sandbox": dict(actor="provider:sandbox", detail="sandbox: settled",
                    provider_refund_id="sbx_zr_late"),
    "stripe": dict(actor="provider:stripe", detail="webhook refund.updated evt_late",
                   provider_refund_id="re_late"),
    "antom": dict(actor="provider:antom",
                  detail="antom notifyRefund SUCCESS: SUCCESS: success (refundId 2026late, "
                         "CNY 67708 minor units)", provider_refund_id="2026late"),
}


@pytest.mark.parametrize("provider", sorted(VERDICTS))
@pytest.mark.parametrize("how", ["canceled", "failed"])
def test_a_late_success_for_a_closed_refund_needs_attention(example_db, settles_at_once,
                                                             how, provider):
    before = _balances("paul")
    refund_id = _closed(how)
    assert _balances("paul") == before  # reversed exactly
    rows, events = _ledger_rows(), len(refund_events(refund_id))
    verdict = VERDICTS[provider]

    assert refunds.finish(refund_id, Outcome.SUCCEEDED, **verdict) == how

    row = refund_row(refund_id)
    assert (row.status, row.attention, row.attention_resolved_at) == (how, "paid_after_close",
                                                                      None)
    assert row.attention_at is not None
    # the ledger decision: nothing is re-debited automatically; balances = their sums
    assert _balances("paul") == before and _ledger_rows() == rows
    _assert_ledger_balances()
    # the provider's evidence, in the audit trail
    [flagged] = refund_events(refund_id)[events:]
    assert (flagged.action, flagged.actor, flagged.from_status, flagged.to_status) == (
        "needs_attention", verdict["actor"], how, how)
    evidence = json.loads(flagged.detail)
    assert evidence["provider_detail"] == verdict["detail"]
    assert evidence["provider_refund_id"] == verdict["provider_refund_id"]
    assert (evidence["attention"], evidence["final_cents"], evidence["final_minor"],
            evidence["currency"]) == ("paid_after_close", row.final_cents, 67708, "CNY")
    assert evidence["ledger"].startswith("unchanged")

    # the support console: its own filter, and a badge that cannot be missed
    sam = _id("sam")
    page = console.list_refunds(sam, status="needs_attention")
    assert page.total == 1 and [r.id for r in page.rows] == [refund_id]
    [view] = page.rows
    assert view.status == f"Needs attention ({how.capitalize()})"
    assert (view.color, view.needs_attention, view.can_retry, view.can_cancel) == (
        "orange", True, False, False)
    assert refund_id in [r.id for r in console.list_refunds(sam, status=how).rows]
    trail = console.audit_trail(sam, refund_id)
    assert trail[-1].action == "needs_attention"
    assert verdict["provider_refund_id"] in trail[-1].detail
    # the customer's tag
    assert billing.status_tag(row) == StatusTag(tag="Under review", tag_color="orange")
    assert billing.refund_status(_id("paul"), refund_id).label == "Under review"
    # the provider paid: the order counts as refunded, no second refund of it
    assert row.open_key == f"topup:{row.topup_order_id}"
    with pytest.raises(refunds.RefundRefused, match="Fully refunded"):
        _approve("paul", "TOP-3002")

    # the same verdict again (a webhook redelivered, the reconciler) changes nothing
    events = len(refund_events(refund_id))
    assert refunds.finish(refund_id, Outcome.SUCCEEDED, **verdict) == how
    again = refund_row(refund_id)
    assert (again.status, again.attention, again.attention_at) == (
        how, "paid_after_close", row.attention_at)
    assert len(refund_events(refund_id)) == events
    assert _balances("paul") == before and _ledger_rows() == rows
    assert console.list_refunds(sam, status="needs_attention").total == 1
    _assert_ledger_balances()


def test_support_resolves_it_with_a_note(example_db, settles_at_once):
    refund_id = _closed("failed")
    refunds.finish(refund_id, Outcome.SUCCEEDED, actor="provider:sandbox", detail="settled")
    sam, paul = _id("sam"), _id("paul")
    with pytest.raises(PermissionError):
        console.resolve_attention(paul, refund_id, "I keep it")
    with pytest.raises(refunds.RefundRefused, match="Say what was done"):
        console.resolve_attention(sam, refund_id, "   ")
    with pytest.raises(refunds.RefundRefused, match="Only a Failed refund"):
        console.retry(sam, refund_id)  # the provider paid it: nothing to retry
    before = _balances("paul")

    assert console.resolve_attention(sam, refund_id, "Customer agreed: credits debited "
                                                     "by hand, ticket 4411") == "failed"

    row = refund_row(refund_id)
    assert row.attention == "paid_after_close" and row.attention_resolved_at is not None
    last = refund_events(refund_id)[-1]
    assert (last.action, last.actor) == ("attention_resolved", "sam@zenmux.example")
    assert "ticket 4411" in json.loads(last.detail)["note"]
    assert console.list_refunds(sam, status="needs_attention").total == 0
    assert billing.status_tag(row).tag == "Refund failed"
    assert _balances("paul") == before  # resolving moves no money
    with pytest.raises(refunds.RefundRefused, match="does not need attention"):
        console.resolve_attention(sam, refund_id, "again")
    # still money out: the order stays refunded
    with pytest.raises(refunds.RefundRefused, match="Fully refunded"):
        _approve("paul", "TOP-3002")
    # a redelivered verdict does not reopen it
    refunds.finish(refund_id, Outcome.SUCCEEDED, actor="provider:sandbox", detail="settled")
    assert console.list_refunds(sam, status="needs_attention").total == 0
    _assert_ledger_balances()


def test_a_refund_the_provider_paid_twice_shows_both(example_db, settles_at_once):
    """Failed, retried by support, the retry paid, then the first one paid after all:
    the retry keeps the order's open_key, the first is flagged for support."""
    sam = _id("sam")
    first = _closed("failed")
    sandbox_control.set_outcome("TOP-3002", "succeed")
    retry_ref = console.retry(sam, first)
    with db.reading() as s:
        retry = s.exec(select(Refund).where(Refund.ref == retry_ref)).one()
    assert retry.status == "refunded"  # the Sandbox settles at once
    assert refunds.finish(first, Outcome.SUCCEEDED, actor="provider:sandbox",
                          detail="settled") == "failed"
    row = refund_row(first)
    assert row.attention == "paid_after_close" and row.open_key is None
    assert refund_row(retry.id).open_key == f"topup:{row.topup_order_id}"
    assert [r.id for r in console.list_refunds(sam, status="needs_attention").rows] == [first]
    _assert_ledger_balances()


def test_a_late_failure_after_the_flag_is_noted_and_changes_nothing(example_db):
    refund_id = _closed("canceled")
    refunds.finish(refund_id, Outcome.SUCCEEDED, actor="provider:stripe", detail="evt_1")
    before, rows = _balances("paul"), _ledger_rows()
    assert refunds.finish(refund_id, Outcome.FAILED, actor="provider:stripe",
                          detail="evt_2") == "canceled"
    assert refund_events(refund_id)[-1].action == "ignored"
    assert refund_row(refund_id).attention == "paid_after_close"
    assert _balances("paul") == before and _ledger_rows() == rows


def test_retry_and_payout_check_their_refund_under_the_lock(example_db, settles_at_once):
    """retry and record_payout no longer trust a read made before their transaction."""
    sam = _id("sam")
    refund_id = _closed("canceled")
    with pytest.raises(refunds.RefundRefused, match="Only a Failed refund"):
        console.retry(sam, refund_id)
    with pytest.raises(refunds.RefundRefused, match="paid out by hand"):
        console.record_payout(sam, refund_id)
    with pytest.raises(refunds.RefundRefused, match="paid out by hand"):
        console.record_payout(sam, 10**9)
    # approve's own check, given a refund that is not Failed (as a stale caller would)
    row = refund_row(refund_id)
    with pytest.raises(refunds.RefundRefused, match="Only a Failed refund"):
        refunds.approve_on_behalf(actor="sam@zenmux.example", account_id=row.account_id,
                                  kind=row.order_kind, order_id=row.topup_order_id,
                                  window_at=row.requested_at, source="support",
                                  retry_of=refund_id)
    assert refund_row(refund_id).status == "canceled"
    assert console.list_refunds(sam, status="refunding").total == 1  # the scenario's own


def test_the_console_filter_knows_needs_attention(example_db):
    assert "needs_attention" in console.STATUSES
    assert console.list_refunds(_id("sam"), status="needs_attention").total == 0


def test_support_finds_the_provider_did_not_pay_and_the_order_is_refundable_again(
        example_db, settles_at_once):
    """A stale "succeeded" after "failed": support checks the provider's records,
    resolves the flag as not paid, and the Failed refund can be retried; "paid" (the
    default) keeps the order refunded; anything else is refused and changes nothing."""
    approved = _approve("paul", "TOP-3001")
    refunds.finish(approved.refund_id, Outcome.FAILED, actor="provider:stripe",
                   detail="webhook refund.failed")
    refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:stripe",
                   detail="webhook refund.updated (an older event, delivered late)")
    assert refund_row(approved.refund_id).attention == "paid_after_close"
    sam = _id("sam")
    with pytest.raises(refunds.RefundRefused, match="paid or not paid"):
        console.resolve_attention(sam, approved.refund_id, "checked", "maybe")
    with pytest.raises(refunds.RefundRefused):
        console.retry(sam, approved.refund_id)  # still counted as paid
    console.resolve_attention(sam, approved.refund_id, "Stripe shows it failed: not paid",
                              "not_paid")
    row = refund_row(approved.refund_id)
    assert (row.status, row.attention, row.open_key) == ("failed", "not_paid", None)
    assert row.attention_resolved_at is not None
    [resolved] = [e for e in refund_events(approved.refund_id)
                  if e.action == "attention_resolved"]
    assert '"provider_paid": false' in resolved.detail
    retry_ref = console.retry(sam, approved.refund_id)
    assert retry_ref.startswith("RF-")
    _assert_ledger_balances()
