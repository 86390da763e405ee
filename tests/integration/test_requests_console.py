"""E-mail requests and the support console's actions, against a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.domain import money
from zenmux_refunds.models import Account, EmailRequest, Refund
from zenmux_refunds.services import console, demo, ledger, refunds, requests


def _id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(Account.id).where(Account.ref == ref)).one()


def _topup(ref: str) -> str:
    with db.reading() as s:
        return money.format_usd_micros(ledger.balances(s, _id(ref)).topup_micros)


def _file(**over) -> requests.Filed:
    values = dict(contact="paul@example.com", purchase_at="2026-11-26 10:00", amount="10.00",
                  unused_balance="$179.37", reason="Paid by bank transfer by mistake")
    values.update(over)
    return requests.file_request(_id("paul"), **values)


def _request_id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(EmailRequest.id).where(EmailRequest.ref == ref)).one()


def _refund(ref: str) -> Refund:
    with db.reading() as s:
        return s.exec(select(Refund).where(Refund.ref == ref)).one()


def _count_requests() -> int:
    with db.reading() as s:
        return len(s.exec(select(EmailRequest)).all())


def test_bank_transfer_request_approved_then_paid_out_by_hand(example_db):
    filed = _file()
    assert filed.matched_order == "TOP-3004"
    # submitted Thursday 2026-11-26 12:00: 7 business days later
    assert money.format_instant(filed.review_due_at) == "2026-12-07 12:00 UTC"
    refund_ref = requests.approve(_id("sam"), _request_id(filed.ref))
    refund = _refund(refund_ref)
    # usage since TOP-3004 (10:00): 1.000001 -> $1.01; refundable $8.99; final floor(899 * .95)
    assert (refund.status, refund.gross_cents, refund.final_cents) == ("refunding", 899, 854)
    assert _topup("paul") == "$170.38"  # 179.376543 - 8.99
    assert console.record_payout(_id("sam"), refund.id) == "refunded"
    [mine] = requests.my_requests(_id("paul"))
    assert (mine.status, mine.refund_status) == ("Approved", "Refunded")


def test_denied_request_shows_the_reason(example_db):
    filed = _file()
    with pytest.raises(requests.RequestError):
        requests.deny(_id("sam"), _request_id(filed.ref), "  ")
    requests.deny(_id("sam"), _request_id(filed.ref), "Bank transfers are refunded by the bank")
    [mine] = requests.my_requests(_id("paul"))
    assert (mine.status, mine.note) == ("Denied", "Bank transfers are refunded by the bank")
    with pytest.raises(refunds.RefundRefused):
        requests.approve(_id("sam"), _request_id(filed.ref))


@pytest.mark.parametrize("field,value,error", [
    ("purchase_at", "26/11/2026 10:00", "Purchase date and time"),
    ("purchase_at", "2026-02-30 10:00", "Purchase date and time"),
    ("purchase_at", "2026-11-27 10:00", "Purchase date and time"),  # in the future
    ("amount", "ten", "Amount"),
    ("amount", "0", "Amount"),
    ("reason", "", "Reason"),
    ("contact", "rita@example.com", "Account email / ID"),
])
def test_bad_requests_are_refused_and_nothing_is_recorded(example_db, field, value, error):
    with pytest.raises(requests.RequestError) as refused:
        _file(**{field: value})
    assert str(refused.value).startswith(error)
    assert _count_requests() == 0


def test_the_window_counts_at_submission_and_usage_at_approval(example_db):
    filed = _file()
    demo.advance_clock(timedelta(days=3))  # TOP-3004's 24 hours are long gone
    refund_ref = requests.approve(_id("sam"), _request_id(filed.ref))
    assert _refund(refund_ref).status == "refunding"


def test_customers_cannot_use_support_actions_and_nothing_changes(example_db):
    filed = _file()
    paul = _id("paul")
    failed = _refund("RF-6002")
    for action, args in [(requests.approve, (_request_id(filed.ref),)),
                         (requests.deny, (_request_id(filed.ref), "no")),
                         (console.list_refunds, ()),
                         (console.retry, (failed.id,)),
                         (console.cancel, (_refund("RF-4001").id,)),
                         (console.audit_trail, (failed.id,)),
                         (console.set_sandbox_outcome, ("TOP-3001", "fail"))]:
        with pytest.raises(PermissionError):
            action(paul, *args)
    assert requests.my_requests(paul)[0].status == "Pending"
    assert _refund("RF-4001").status == "refunding"
    with db.reading() as s:
        assert len(s.exec(select(Refund)).all()) == 3  # the scenario's, no more


def test_support_retries_a_failed_refund_and_cancels_an_unsent_one(example_db):
    new_ref = console.retry(_id("sam"), _refund("RF-6002").id)
    assert _refund(new_ref).status == "refunding" and _refund(new_ref).source == "support"
    assert _topup("fiona") == "$0.00"
    assert console.cancel(_id("sam"), _refund("RF-4001").id) == "canceled"
    assert _topup("rita") == "$20.00"  # the scenario's debit reversed
    trail = console.audit_trail(_id("sam"), _refund("RF-4001").id)
    assert [e.action for e in trail][-2:] == ["effects_reversed", "canceled"]
    with pytest.raises(refunds.RefundRefused):
        console.retry(_id("sam"), _refund("RF-6001").id)  # Refunded, not Failed


def test_support_confirms_with_the_customer_and_the_amounts_in_front_of_it(example_db):
    """console.check: what each action's confirmation shows, computed on the server."""
    filed = _file()
    check = console.check(_id("sam"), "approve", _request_id(filed.ref))
    assert (check.title, check.customer) == (f"Approve {filed.ref}?", "Paul Payg (paul@example.com)")
    assert "matched order TOP-3004" in check.order
    # TOP-3004: $10.00 paid, $1.01 used since (1.000001 rounded up), 5% of $8.99 is $0.45
    assert check.lines == [("Paid", "$10.00"), ("Usage since payment", "$1.01"),
                           ("Already refunded", "$0.00"), ("Refundable", "$8.99"),
                           ("Platform fee (5%)", "$0.45"), ("Amount returned", "$8.54")]
    deny = console.check(_id("sam"), "deny", _request_id(filed.ref))
    assert deny.needs_reason and deny.lines == [("Asked for", "$10.00")]
    cancel = console.check(_id("sam"), "cancel", _refund("RF-4001").id)
    assert cancel.customer == "Rita Referrer (rita@example.com)"
    assert cancel.lines == [("Refundable", "$20.00"), ("Platform fee", "$1.00"),
                            ("Amount returned", "$19.00")]
    with pytest.raises(PermissionError):
        console.check(_id("paul"), "cancel", _refund("RF-4001").id)
    with pytest.raises(ValueError):
        console.check(_id("sam"), "delete", _refund("RF-4001").id)
    with pytest.raises(LookupError):
        console.check(_id("sam"), "cancel", 10**9)


def test_the_audit_trail_reads_as_sentences(example_db):
    filed = _file()
    ref = requests.approve(_id("sam"), _request_id(filed.ref))
    trail = console.audit_trail(_id("sam"), _refund(ref).id)
    [approved] = [line for line in trail if line.action == "approved"]
    assert approved.detail.startswith("Refundable $8.99, fee $0.45, returned $8.54")
    assert "_cents" not in " ".join(line.detail for line in trail)


def test_the_order_picker_lists_the_accounts_own_paid_orders_of_every_channel(example_db):
    choices = requests.orders_to_pick(_id("paul"))
    refs = [c.label.split(" · ")[0] for c in choices]
    # newest first; the pending TOP-3005 is not a purchase to ask a refund of
    assert refs == ["TOP-3004", "TOP-3002", "TOP-3001", "TOP-3003"]
    [bank] = [c for c in choices if c.label.startswith("TOP-3004")]
    assert (bank.purchase_at, bank.amount) == ("2026-11-26 10:00", "10.00")
    assert "Bank transfer" in bank.label
    assert not [c for c in requests.orders_to_pick(_id("alice")) if "TOP-" in c.label]


def test_an_identical_pending_request_is_refused_and_a_decided_one_can_be_asked_again(
        example_db):
    first = _file()
    with pytest.raises(requests.RequestError, match=f"You already asked for this order: "
                                                    f"{first.ref}") as refused:
        _file(reason="Asking again")
    assert refused.value.field == requests.ORDER
    assert _count_requests() == 1
    requests.deny(_id("sam"), _request_id(first.ref), "Paid by the bank: ask your bank")
    again = _file(reason="The bank says to ask you")
    assert again.ref != first.ref and _count_requests() == 2
