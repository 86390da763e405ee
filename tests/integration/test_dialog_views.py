"""The refund dialog's view models (``billing.preview``, ``billing.refund_status``), read
back from a loaded example database: every line the dialog shows, as the customer reads
it (issue 11, items 2-4).

Expected strings are written out by hand from example-expectations.md and the worked
sums in the comments; nothing here is taken from the code under test.
"""

from __future__ import annotations

import pytest

from tests.integration._helpers import (
    account_by_ref,
    approve_by_ref,
    balances_of,
    example_data,
)
from zenmux_refunds import db
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import billing, quotes, refunds, scenarios, usage


def _preview(account_ref: str, order_ref: str, **kw):
    account = account_by_ref(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return billing.preview(account.id, kind, order_id, **kw)


def _bill(account_ref: str, call_id: str, amount: str, billed_to: str) -> None:
    """One API call reported by the gateway, through the usage feed's own use case."""
    usage.ingest({"call_id": call_id, "account": account_ref, "amount": amount,
                  "billed_to": billed_to, "at": "2026-11-26T11:59:00Z"})


# ------------------------------------------------------------------ item 2: top-up lines


def test_top_3001_preview_lines_and_a_spent_discount(example_db):
    p = _preview("paul", "TOP-3001")
    # usage after 11-25 20:00: 6.123456 + 1.000001 -> $7.13; 50.00 - 7.13 = 42.87
    assert p.lines == (
        ("Order amount", "$50.00"),
        ("Payment time", "2026-11-25 20:00 UTC"),
        ("Usage since payment", "$7.13"),
        ("Already refunded", "$0.00"),
        ("Refundable balance", "$42.87"),
        ("Platform fee (5%)", "$2.15"),
    )
    assert (p.final, p.final_in_currency) == ("$40.72", "")
    assert p.window == "Refund window remaining 8h 0m"
    # the 6.123456 call at 22:00 drew the $2.50 bonus first: none of it is left
    assert p.forfeits == (
        "The $2.50 Discount bonus of this top-up is already spent: nothing to forfeit",
        "Revokes a referral reward linked to this top-up ($5.00, pending)",
    )
    assert p.effects == ("$42.87 of top-up credits leave your wallet immediately",)
    assert p.destination == "your card (Stripe)"
    assert (p.last_failure, p.amount_change, p.previous_final) == ("", "", "")


def test_top_3002_preview_shows_what_was_charged_in_cny(example_db):
    p = _preview("paul", "TOP-3002")
    # usage after 11-26 09:15: 1.000001 -> $1.01; 98.99; floor(9899 * .95) = 9404
    assert p.lines == (
        ("Order amount", "$100.00"),
        ("Amount charged", "CNY 720.00"),
        ("Payment time", "2026-11-26 09:15 UTC"),
        ("Usage since payment", "$1.01"),
        ("Already refunded", "$0.00"),
        ("Refundable balance", "$98.99"),
        ("Platform fee (5%)", "$4.95"),
    )
    # floor(9404 * 72000 / 10000) = 67708 fen
    assert (p.final, p.final_in_currency) == ("$94.04", "CNY 677.08")
    assert p.window == "Refund window remaining 21h 15m"
    assert p.forfeits == ()  # no bonus, no referral
    assert p.destination == "your Alipay account (Antom)"


def _paul_with_calls_after_top_3001(database_url, amounts: list[str]) -> None:
    """The example, but paul's calls after TOP-3001 (11-25 20:00) are ``amounts``."""
    data = example_data()
    [paul] = [a for a in data["accounts"] if a["ref"] == "paul"]
    paul["usage"] = [paul["usage"][0]] + [
        {"at": "2026-11-25T22:00:00Z", "amount": a} for a in amounts]
    scenarios.load(data, replace=True)


def test_an_unspent_discount_is_forfeited_whole(example_db):
    _paul_with_calls_after_top_3001(example_db, [])
    p = _preview("paul", "TOP-3001")
    assert p.forfeits[0] == "The $2.50 Discount bonus of this top-up is forfeited"


def test_a_partly_spent_discount_forfeits_what_is_left_and_no_more(example_db):
    # the gift went to the 4.00 call of 11-24; a 1.50 call after TOP-3001 draws the bonus
    # first: 2.50 - 1.50 = 1.00 left
    _paul_with_calls_after_top_3001(example_db, ["1.50"])
    p = _preview("paul", "TOP-3001")
    assert p.forfeits[0] == "$1.00 of the $2.50 Discount bonus is left and is forfeited"
    assert balances_of("paul").bonus_micros == 1_000_000
    approve_by_ref("paul", "TOP-3001", preview=p.final_cents)
    # what the preview said is what approval took: the whole $1.00, nothing more
    assert balances_of("paul").bonus_micros == 0


# ------------------------------------------------------------------ item 3: what happens


def test_sub_1002_says_the_plan_drops_to_free_immediately_and_it_does(example_db):
    p = _preview("alice", "SUB-1002")
    assert p.lines == (
        ("Current plan", "Pro"),
        ("Total paid", "$20.00"),
        ("Actual usage", "$3.46"),
        ("Already refunded", "$0.00"),
        ("Refundable balance", "$16.54"),
        ("Platform fee (5%)", "$0.83"),
    )
    assert p.final == "$15.71"
    assert p.effects == ("Your Pro plan drops to Free immediately when the refund is "
                         "approved; you can subscribe again at any time",)
    assert p.destination == "your card (Stripe)"
    assert p.forfeits == ()
    approve_by_ref("alice", "SUB-1002", preview=p.final_cents)
    assert billing.plan_card(account_by_ref("alice").id).plan == "Free"


def test_an_order_that_cannot_be_refunded_announces_no_effects(example_db):
    assert _preview("alice", "SUB-1001").effects == ()  # window expired
    assert _preview("paul", "TOP-3003").effects == ()


def test_submit_says_when_usage_moved_the_amount_since_the_preview(example_db):
    shown = _preview("alice", "SUB-1002")
    assert shown.final == "$15.71"
    # control: nothing billed in between, nothing to say
    same = _preview("alice", "SUB-1002", shown_final_cents=shown.final_cents)
    assert (same.previous_final, same.amount_change) == ("", "")
    _bill("alice", "between-steps-1", "2.00", "subscription")
    # usage 3.456789 + 2.00 -> $5.46; 14.54; floor(1454 * .95) = 1381
    moved = _preview("alice", "SUB-1002", shown_final_cents=shown.final_cents)
    assert moved.final == "$13.81"
    assert moved.previous_final == "$15.71"
    assert moved.amount_change == ("The amount changed from $15.71 to $13.81 because of "
                                   "usage since you opened this.")


def test_the_status_says_when_approval_settled_at_another_amount(example_db):
    confirmed = _preview("alice", "SUB-1002")
    _bill("alice", "in-flight-1", "1.00", "subscription")
    approved = approve_by_ref("alice", "SUB-1002", preview=confirmed.final_cents)
    status = billing.refund_status(account_by_ref("alice").id, approved.refund_id)
    # usage 4.456789 -> $4.46; 15.54; floor(1554 * .95) = 1476
    assert (status.changed, status.preview_final, status.settled_final) == \
        (True, "$15.71", "$14.76")


def test_the_status_says_nothing_changed_when_nothing_did(example_db):
    confirmed = _preview("alice", "SUB-1002")
    approved = approve_by_ref("alice", "SUB-1002", preview=confirmed.final_cents)
    status = billing.refund_status(account_by_ref("alice").id, approved.refund_id)
    assert status.changed is False
    assert status.settled_final == "$15.71"


# ------------------------------------------------------------------ item 4: failed first


def test_a_row_whose_last_refund_failed_shows_the_failure_first(example_db):
    p = _preview("fiona", "TOP-6002")
    assert p.last_failure == "Your refund RF-6002 of this order failed: please contact support"
    assert p.support_contact == "support@zenmux.ai"
    assert p.support_mailto == "mailto:support@zenmux.ai?subject=Refund%20RF-6002%20failed"
    # still refundable: the failed refund counts nothing; the preview follows on request
    assert p.can_refund and p.final == "$14.25"


def test_no_failure_notice_when_the_last_refund_did_not_fail(example_db):
    assert _preview("fiona", "TOP-6001").last_failure == ""  # Refunded
    assert _preview("paul", "TOP-3001").last_failure == ""  # no refund at all
    assert _preview("fiona", "TOP-6001").support_contact == ""


def test_the_notice_follows_the_last_refund_not_an_earlier_one(example_db):
    approved = approve_by_ref("fiona", "TOP-6002", preview=1425)
    # a new refund in progress: the old failure is history, not news
    assert _preview("fiona", "TOP-6002").last_failure == ""
    refunds.finish(approved.refund_id, Outcome.FAILED, actor="test")
    p = _preview("fiona", "TOP-6002")
    assert p.last_failure == (f"Your refund {approved.refund_ref} of this order failed: "
                              "please contact support")
    assert approved.refund_ref != "RF-6002"
    assert p.can_refund  # the failure gave everything back


def test_a_canceled_last_refund_is_not_called_failed(example_db):
    approved = approve_by_ref("fiona", "TOP-6002", preview=1425)
    refunds.cancel(approved.refund_id, actor="test")
    assert _preview("fiona", "TOP-6002").last_failure == ""


def test_another_accounts_order_is_not_previewed(example_db):
    paul, fiona = account_by_ref("paul"), account_by_ref("fiona")
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, fiona, "TOP-6002")
    with pytest.raises(quotes.NotYourOrder):
        billing.preview(paul.id, kind, order_id)
