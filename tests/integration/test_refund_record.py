"""The customer's refund record (issue 11, items 1, 2 and 4): the Refunds section's
rows (scoped to the account, paginated in the database, in USD and the charged
currency), the customer-safe timeline, the exact amounts of a refund's Transactions
line and the "Refund failed" tag. Against the example scenario, on a real database."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.integration._helpers import account_by_ref, approve_by_ref, refund_row
from zenmux_refunds import clock, db
from zenmux_refunds.domain.vocabulary import LedgerKind, OrderKind
from zenmux_refunds.models import LedgerEntry, ReferralReward, Refund, RefundEvent, TopupOrder
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import (
    billing,
    console,
    credits,
    ledger,
    quotes,
    refund_record,
    refunds,
    rewards,
    sandbox_control,
)

TOPUP, SUBSCRIPTION = OrderKind.TOPUP, OrderKind.SUBSCRIPTION


def _id(ref: str) -> int:
    return account_by_ref(ref).id


def _refund_id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(Refund.id).where(Refund.ref == ref)).one()


def _order_id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(TopupOrder.id).where(TopupOrder.ref == ref)).one()


def _texts(view) -> list[str]:
    return [e.text for e in view.events]


def _everything_shown(view) -> str:
    """Every string the customer's timeline carries, row and events."""
    row = view.row
    parts = [str(getattr(row, f)) for f in row.__dataclass_fields__]
    parts += [e.at + " " + e.text + " " + e.kind for e in view.events]
    return "\n".join(parts)


# ------------------------------------------------------------------ scoping


def test_rows_and_timelines_are_only_ever_the_accounts_own(example_db):
    rita, paul, fiona = _id("rita"), _id("paul"), _id("fiona")
    rf4001 = _refund_id("RF-4001")

    [row] = refund_record.refunds_page(rita, TOPUP).rows
    assert (row.ref, row.order_ref) == ("RF-4001", "TOP-4001")
    assert refund_record.refunds_page(rita, SUBSCRIPTION).total == 0  # the other kind
    # nobody else sees it, in a list, a timeline, an order's tag or a line's tag
    assert refund_record.refunds_page(paul, TOPUP).rows == []
    assert [r.ref for r in refund_record.refunds_page(fiona, TOPUP).rows] == [
        "RF-6002", "RF-6001"]
    with pytest.raises(quotes.NotYourOrder):
        refund_record.timeline(paul, rf4001)
    with pytest.raises(quotes.NotYourOrder):
        refund_record.timeline(rita, 10**9)
    assert refund_record.timeline(rita, rf4001).row.ref == "RF-4001"  # the control
    top4001 = _order_id("TOP-4001")
    assert refund_record.refund_of_order(paul, TOPUP, top4001) is None
    assert refund_record.refund_of_order(rita, SUBSCRIPTION, top4001) is None
    assert refund_record.refund_of_order(rita, TOPUP, top4001) == rf4001
    with db.reading() as s:
        entry = s.exec(select(LedgerEntry.id).where(LedgerEntry.refund_id == rf4001,
                                                    LedgerEntry.kind == LedgerKind.REFUND)).one()
    assert refund_record.refund_of_entry(paul, entry) is None
    assert refund_record.refund_of_entry(rita, entry) == rf4001


def test_a_referrers_clawback_line_does_not_open_the_referred_customers_refund(example_db):
    # Rita's reward for Paul's TOP-3001 is granted, then Paul refunds TOP-3001: the
    # clawback line is on Rita's account but names Paul's refund.
    with db.transaction() as s:
        ledger.lock_account(s, _id("rita"))
        reward = s.exec(select(ReferralReward).where(
            ReferralReward.order_id == _order_id("TOP-3001"))).one()
        rewards.grant(s, reward, clock.now(s))
    approved = approve_by_ref("paul", "TOP-3001")
    with db.reading() as s:
        clawback = s.exec(select(LedgerEntry).where(
            LedgerEntry.refund_id == approved.refund_id,
            LedgerEntry.kind == LedgerKind.CLAWBACK)).one()
    assert clawback.account_id == _id("rita")
    assert refund_record.refund_of_entry(_id("rita"), clawback.id) is None
    with pytest.raises(quotes.NotYourOrder):
        refund_record.timeline(_id("rita"), approved.refund_id)
    assert refund_record.timeline(_id("paul"), approved.refund_id).row.order_ref == "TOP-3001"


# ------------------------------------------------------------------ the rows


def test_newest_first_paginated_in_the_database(example_db):
    fiona = _id("fiona")
    approved = approve_by_ref("fiona", "TOP-6002")  # 12:00, after RF-6001 05:30, RF-6002 07:30
    first = refund_record.refunds_page(fiona, TOPUP, page=1, page_size=2)
    second = refund_record.refunds_page(fiona, TOPUP, page=2, page_size=2)
    assert (first.total, first.pages) == (3, 2)
    assert [r.ref for r in first.rows] == [approved.refund_ref, "RF-6002"]
    assert [r.ref for r in second.rows] == ["RF-6001"]
    assert [r.requested for r in first.rows + second.rows] == [
        "2026-11-26 12:00 UTC", "2026-11-26 07:30 UTC", "2026-11-26 05:30 UTC"]
    # a page past the end is empty, not an error; a silly size is bounded
    assert refund_record.refunds_page(fiona, TOPUP, page=3, page_size=2).rows == []
    assert refund_record.refunds_page(fiona, TOPUP, page=1, page_size=10**6).page_size == 100


def test_amounts_tag_and_arrival_of_each_row(example_db):
    rows = {r.ref: r for r in refund_record.refunds_page(_id("fiona"), TOPUP).rows}
    done, failed = rows["RF-6001"], rows["RF-6002"]
    assert (done.refundable, done.fee, done.returned, done.returned_in_currency) == (
        "$20.00", "$1.00", "$19.00", "")
    assert (done.tag, done.tag_color, done.arrival) == ("Refunded", "green", "")
    assert done.receipt_url == "/api/receipts/RF-6001.pdf"
    # item 4: the tag of a failed refund says what failed; the dialog keeps the SPEC's word
    assert (failed.tag, failed.tag_color) == ("Refund failed", "red")
    # what the amount is: a failed refund's amount never reached the customer
    assert (done.returned_label, failed.returned_label) == ("Amount returned", "Not returned")
    assert billing.refund_status(_id("fiona"), failed.id).label == "Failed"

    [refunding] = refund_record.refunds_page(_id("rita"), TOPUP).rows
    assert (refunding.tag, refunding.returned_label) == ("Refunding", "Amount to be returned")
    # the dialog's words: approved Thu 2026-11-26, 1 to 3 business days
    assert refunding.arrival == "Expected between Fri 2026-11-27 and Tue 2026-12-01"
    assert refunding.arrival == billing.refund_status(_id("rita"), refunding.id).arrival


def test_a_cny_refund_shows_usd_and_the_charged_currency(example_db):
    approved = approve_by_ref("paul", "TOP-3002")
    [row] = refund_record.refunds_page(_id("paul"), TOPUP).rows
    # paid $100.00 (CNY 720.00), usage $1.01: refundable $98.99, fee $4.95, $94.04 back,
    # floor(9404 / 10000 × 72000) = CNY 677.08
    assert (row.ref, row.order_ref) == (approved.refund_ref, "TOP-3002")
    assert (row.refundable, row.fee, row.returned, row.returned_in_currency) == (
        "$98.99", "$4.95", "$94.04", "CNY 677.08")
    view = refund_record.timeline(_id("paul"), approved.refund_id)
    assert _texts(view)[0] == "Refund approved: CNY 677.08 ($94.04) to be returned"


# ------------------------------------------------------------------ Transactions (item 2)


def _refund_line(account: str, ref: str):
    rows = credits.transactions(_id(account), 1, 50).rows
    [line] = [r for r in rows if r.ref == ref and r.type == "Refund"]
    return line


def test_a_refunds_transactions_line_shows_the_debit_and_what_was_returned(example_db):
    done = _refund_line("fiona", "RF-6001")
    assert (done.amount, done.returned, done.tag) == ("-$20.00", "returned $19.00", "Refunded")
    on_its_way = _refund_line("rita", "RF-4001")
    assert (on_its_way.amount, on_its_way.returned) == ("-$20.00", "returning $19.00")
    # other lines carry nothing of the sort
    assert all(r.returned == "" for r in credits.transactions(_id("fiona"), 1, 50).rows
               if r.type != "Refund")

    approved = approve_by_ref("paul", "TOP-3002")
    cny = _refund_line("paul", approved.refund_ref)
    assert (cny.amount, cny.returned) == ("-$98.99", "returning CNY 677.08 ($94.04)")


def test_a_failed_refunds_line_returned_nothing(example_db, settles_at_once):
    approved = approve_by_ref("fiona", "TOP-6002")
    assert refunds.send(approved.refund_id) == "failed"  # the scenario says it fails
    line = _refund_line("fiona", approved.refund_ref)
    assert (line.amount, line.returned, line.tag) == ("-$15.00", "nothing returned",
                                                      "Refund failed")


# ------------------------------------------------------------------ the timeline


def test_the_timeline_tells_the_customers_story_and_nothing_more(example_db, settles_at_once):
    alice = _id("alice")
    # the preview said $16.00; usage billed meanwhile settled it at $15.71
    approved = approve_by_ref("alice", "SUB-1002", preview=1600)
    refunds.note(approved.refund_id, "provider:sandbox", "provider_error",
                 "card_declined: charge ch_SECRET123 (do_not_honor)")
    assert refunds.send(approved.refund_id) == "refunded"
    refunds.note(approved.refund_id, "sam@zenmux.example", "note", {"note": "VIP, ticket 4411"})

    view = refund_record.timeline(alice, approved.refund_id)
    assert [(e.kind, e.text) for e in view.events] == [
        ("approved", "Refund approved: $15.71 to be returned"),
        ("changed", "Amount changed from $16.00 to $15.71: API calls in flight were billed "
                    "after the preview"),
        ("sent", "Sent to the Sandbox"),
        ("refunded", "Refunded: $15.71 returned to your payment method"),
    ]
    assert all(e.at == "2026-11-26 12:00 UTC" for e in view.events)
    assert (view.row.ref, view.row.order_ref, view.row.tag) == (
        approved.refund_ref, "SUB-1002", "Refunded")
    # what the audit trail holds and the customer never sees
    with db.reading() as s:
        trail = s.exec(select(RefundEvent).where(
            RefundEvent.refund_id == approved.refund_id)).all()
    assert {"plan_downgraded", "provider_error", "note", "sent"} <= {e.action for e in trail}
    shown = _everything_shown(view)
    provider_id = refund_row(approved.refund_id).provider_refund_id
    assert provider_id and provider_id not in shown
    for secret in ("ch_SECRET123", "card_declined", "sam@", "ticket 4411", "VIP",
                   "sandbox: settled", "provider:", "preview_final_cents", "Free"):
        assert secret not in shown, secret


def test_paid_after_close_reads_under_review_without_its_internals(example_db, settles_at_once):
    paul, sam = _id("paul"), _id("sam")
    approved = approve_by_ref("paul", "TOP-3002")
    sandbox_control.set_outcome("TOP-3002", "fail")
    assert refunds.send(approved.refund_id) == "failed"
    refunds.finish(approved.refund_id, Outcome.SUCCEEDED, actor="provider:antom",
                   detail="late SUCCESS from the acquirer", provider_refund_id="2026ANTOM_SECRET")

    view = refund_record.timeline(paul, approved.refund_id)
    assert view.row.tag == "Under review"
    assert [e.kind for e in view.events] == ["approved", "sent", "failed", "review"]
    assert _texts(view)[-1] == ("Under review: Our support team is reviewing this refund "
                                "and will contact you")
    assert _texts(view)[2] == "Refund failed — please contact support"
    shown = _everything_shown(view)
    for secret in ("2026ANTOM_SECRET", "acquirer", "paid_after_close", "attention", "ledger"):
        assert secret not in shown, secret
    assert _refund_line("paul", approved.refund_ref).returned == "under review"

    console.resolve_attention(sam, approved.refund_id, "Checked with Antom, ticket 9921",
                              finding="paid")
    resolved = refund_record.timeline(paul, approved.refund_id)
    assert resolved.row.tag == "Refund failed"
    assert [e.kind for e in resolved.events] == ["approved", "sent", "failed"]
    assert "9921" not in _everything_shown(resolved)
    assert "sam@" not in _everything_shown(resolved)


def test_a_manual_channel_reads_to_be_paid_out_by_support(example_db):
    paul, sam = _id("paul"), _id("sam")
    with db.reading() as s:
        now = clock.now(s)
    approved = refunds.approve_on_behalf(
        actor="sam@zenmux.example", account_id=paul, kind=TOPUP,
        order_id=_order_id("TOP-3004"), window_at=now, source="support")
    assert refunds.send(approved.refund_id) == "refunding"
    assert console.record_payout(sam, approved.refund_id) == "refunded"
    view = refund_record.timeline(paul, approved.refund_id)
    # usage since 10:00 is $1.000001, rounded up: $8.99 refundable, $8.54 back
    assert _texts(view) == ["Refund approved: $8.54 to be returned",
                            "To be paid out by support",
                            "Refunded: $8.54 returned to your payment method"]
    assert "sam@" not in _everything_shown(view)
    assert "manual" not in _everything_shown(view)


def test_a_refund_loaded_with_its_history_has_its_two_lines(example_db):
    view = refund_record.timeline(_id("fiona"), _refund_id("RF-6002"))
    assert [(e.at, e.kind) for e in view.events] == [
        ("2026-11-26 07:30 UTC", "approved"), ("2026-11-26 07:30 UTC", "failed")]
    assert "scenario" not in _everything_shown(view)
