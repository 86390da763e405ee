"""Every row of shared/example-expectations.md, read back from a loaded database.

The expected strings are copied from example-expectations.md (or worked out by hand in
the comments); nothing here is taken from the code under test.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.integration._helpers import account
from zenmux_refunds import clock, db
from zenmux_refunds.domain.money import (
    format_currency,
    format_instant,
    format_usd,
    format_usd_micros,
)
from zenmux_refunds.domain.policy import window_remaining_text
from zenmux_refunds.models import CurrentPlan, ReferralReward, TopupOrder
from zenmux_refunds.services import ledger, quotes

# (account, order ref, what the row shows). Keys: eligible, reason, paid, usage,
# already, refundable, fee, final, final_in_currency, window, paid_at, latest_refund.
ROWS = [
    # 20.00 paid; usage 1.456789 + 2.00 = 3.456789 -> up 3.46; 16.54; floor(1654*.95)=1571
    ("alice", "SUB-1002", dict(eligible=True, paid="$20.00", usage="$3.46", already="$0.00",
                               refundable="$16.54", fee="$0.83", final="$15.71",
                               window="Refund window remaining 14h 0m")),
    ("alice", "SUB-1001", dict(eligible=False, reason="Refund window expired", paid="$20.00")),
    ("gary", "SUB-1501", dict(eligible=False,
                              reason="Gift subscriptions are not eligible for refunds")),
    ("hana", "SUB-2001", dict(eligible=False, reason="Usage exceeds refundable amount",
                              paid="$200.00")),
    # usage after 11-25 20:00: 6.123456 + 1.000001 = 7.123457 -> 7.13; 42.87;
    # floor(4287*.95) = floor(4072.65) = 4072; fee 215; window ends 11-26 20:00 -> 8h 0m
    ("paul", "TOP-3001", dict(eligible=True, paid="$50.00", paid_at="2026-11-25 20:00 UTC",
                              usage="$7.13", already="$0.00", refundable="$42.87",
                              fee="$2.15", final="$40.72",
                              window="Refund window remaining 8h 0m")),
    # usage after 11-26 09:15: 1.000001 -> 1.01; 98.99; floor(9899*.95)=9404; fee 495;
    # CNY: floor(9404 * 72000 / 10000) = floor(67708.8) = 67708 fen
    ("paul", "TOP-3002", dict(eligible=True, paid="$100.00", usage="$1.01", fee="$4.95",
                              final="$94.04", final_in_currency="CNY 677.08",
                              window="Refund window remaining 21h 15m")),
    ("paul", "TOP-3003", dict(eligible=False, reason="Refund window expired")),
    ("paul", "TOP-3004", dict(eligible=False,
                              reason="Not refundable online \u2014 request by email")),
    ("paul", "TOP-3005", dict(eligible=False, reason="Order not completed")),
    ("rita", "TOP-4001", dict(eligible=False, reason="Refund in progress",
                              latest_refund="refunding")),
    ("ivan", "TOP-5001", dict(eligible=False, reason="Insufficient balance", paid="$40.00")),
    ("fiona", "TOP-6001", dict(eligible=False, reason="Fully refunded",
                               latest_refund="refunded")),
    # 15.00, no usage, the failed refund counts nothing: floor(1500*.95) = 1425, fee 75
    ("fiona", "TOP-6002", dict(eligible=True, paid="$15.00", already="$0.00", fee="$0.75",
                               final="$14.25", latest_refund="failed")),
]


def _quote(ref_account: str, order_ref: str):
    with db.reading() as session:
        acct = account(session, ref_account)
        kind, order_id = quotes.order_id_by_ref(session, acct, order_ref)
        return kind, quotes.quote_order(session, acct, kind, order_id, clock.now(session))


@pytest.mark.parametrize("who,ref,expected", ROWS, ids=[f"{a}-{r}" for a, r, _ in ROWS])
def test_example_row(example_db, who, ref, expected):
    kind, q = _quote(who, ref)
    assert kind == ("subscription" if ref.startswith("SUB") else "topup")
    assert q.order.ref == ref
    d = q.decision
    assert d.eligible is expected["eligible"]
    if expected["eligible"]:
        assert d.reason is None
    else:
        assert d.reason is not None and str(d.reason) == expected["reason"]
    quote = d.quote
    if "paid" in expected:
        assert format_usd(quote.paid_cents) == expected["paid"]
    if "usage" in expected:
        assert format_usd(quote.usage_cents) == expected["usage"]
    if "already" in expected:
        assert format_usd(quote.already_refunded_cents) == expected["already"]
    if "refundable" in expected:
        assert format_usd(quote.refundable_cents) == expected["refundable"]
    if "fee" in expected:
        assert format_usd(quote.fee_cents) == expected["fee"]
        assert quote.fee_percent == 5
    if "final" in expected:
        assert format_usd(quote.final_cents) == expected["final"]
    if "final_in_currency" in expected:
        assert format_currency(quote.final_charged_minor, quote.charged_currency) \
            == expected["final_in_currency"]
    if "window" in expected:
        assert window_remaining_text(d.window_remaining) == expected["window"]
    if "paid_at" in expected:
        assert format_instant(q.order.paid_at) == expected["paid_at"]
    if "latest_refund" in expected:
        assert q.latest_refund is not None and q.latest_refund.status == expected["latest_refund"]


def test_expired_rows_show_no_time_left(example_db):
    for who, ref in (("alice", "SUB-1001"), ("paul", "TOP-3003")):
        _kind, q = _quote(who, ref)
        assert window_remaining_text(q.decision.window_remaining) == "Refund window remaining 0h 0m"


def test_top_3001_forfeits_discount_and_pending_reward(example_db):
    _kind, q = _quote("paul", "TOP-3001")
    f = q.forfeits
    assert f is not None
    assert format_usd_micros(f.discount_micros) == "$2.50"
    # the $2.50 bonus was drawn first by the 6.123456 usage at 22:00: nothing left
    assert format_usd_micros(f.discount_left_micros) == "$0.00"
    assert not hasattr(f, "reward_referrer")  # the referrer is never named to paul
    assert f.reward_status == "pending"
    assert f.reward_micros == 5_000_000


def test_top_3002_has_nothing_to_forfeit(example_db):
    _kind, q = _quote("paul", "TOP-3002")
    assert q.forfeits.discount_micros == 0
    assert q.forfeits.reward_status is None and q.forfeits.reward_micros == 0


def test_subscription_quote_has_no_forfeits(example_db):
    _kind, q = _quote("alice", "SUB-1002")
    assert q.forfeits is None


# paul: 25+50+100+10 bought (TOP-3005 pending) = 185; the 4.00 at 11-24 takes the 3.00
# gift then 1.00; the 6.123456 takes the 2.50 discount then 3.623456; then 1.000001:
# 185 - 1 - 3.623456 - 1.000001 = 179.376543 -> $179.37. ivan: 40.00 - 30.00 chargeback.
# fiona: 20 + 15 - 20 refunded. rita: her 20.00 is held by RF-4001; $5 referral grant.
EXPECTED_BALANCES = {
    "paul": ("$179.37", "$0.00"),
    "rita": ("$0.00", "$5.00"),
    "ivan": ("$10.00", "$0.00"),
    "fiona": ("$15.00", "$0.00"),
}


def test_balances(example_db):
    shown = {}
    with db.reading() as session:
        for who in EXPECTED_BALANCES:
            b = ledger.balances(session, account(session, who).id)
            shown[who] = (format_usd_micros(b.topup_micros), format_usd_micros(b.bonus_micros))
    assert shown == EXPECTED_BALANCES


def test_paul_topup_balance_to_the_micro(example_db):
    with db.reading() as session:
        b = ledger.balances(session, account(session, "paul").id)
    assert b.topup_micros == 179_376_543  # see test_balances
    assert b.bonus_micros == 0


def test_rita_pending_reward_linked_to_top_3001(example_db):
    with db.reading() as session:
        rita = account(session, "rita")
        rewards = session.exec(
            select(ReferralReward).where(ReferralReward.referrer_id == rita.id)).all()
        assert len(rewards) == 1
        reward = rewards[0]
        order = session.get(TopupOrder, reward.order_id)
    assert reward.status == "pending"
    assert reward.amount_micros == 5_000_000
    assert reward.grant_id is None
    assert order.ref == "TOP-3001"
    assert format_instant(reward.due_at) == "2026-11-26 20:00 UTC"  # paid_at + 24h


EXPECTED_PLANS = {"alice": "Pro", "gary": "Max", "hana": "Ultra", "paul": "Free", "sam": "Free"}


def test_current_plans(example_db):
    shown = {}
    with db.reading() as session:
        for who in EXPECTED_PLANS:
            row = session.get(CurrentPlan, account(session, who).id)
            assert row is not None, who
            assert (row.payment_id is None) == (row.plan == "Free"), who
            shown[who] = row.plan
    assert shown == EXPECTED_PLANS


def test_another_accounts_order_is_not_yours(example_db):
    with db.reading() as session:
        alice = account(session, "alice")
        paul = account(session, "paul")
        with pytest.raises(quotes.NotYourOrder):
            quotes.order_id_by_ref(session, alice, "TOP-3001")
        kind, order_id = quotes.order_id_by_ref(session, paul, "TOP-3001")
        with pytest.raises(quotes.NotYourOrder):
            quotes.quote_order(session, alice, kind, order_id, clock.now(session))
        sub_kind, sub_id = quotes.order_id_by_ref(session, alice, "SUB-1002")
        with pytest.raises(quotes.NotYourOrder):
            quotes.quote_order(session, paul, sub_kind, sub_id, clock.now(session))
        with pytest.raises(quotes.NotYourOrder):
            quotes.order_id_by_ref(session, paul, "NO-SUCH-ORDER")
        with pytest.raises(quotes.NotYourOrder):
            quotes.quote_order(session, paul, "topup", 999_999, clock.now(session))
