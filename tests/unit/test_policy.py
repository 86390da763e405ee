"""Unit tests for zenmux_refunds.domain.policy.

The first block replays every row of shared/example-expectations.md: each order of
example-scenario.json is written down by hand as OrderFacts (usage worked out in comments),
evaluated at the scenario's ``now`` (2026-11-26 12:00 UTC) with the default 5% fee.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from zenmux_refunds.domain.money import MoneyError, format_currency, format_usd, parse_money
from zenmux_refunds.domain.policy import (
    FEE_PERCENT_DEFAULT,
    ONLINE_CHANNELS,
    STATUS_WORDS,
    WINDOW,
    Decision,
    OrderFacts,
    Reason,
    add_business_days,
    arrival_dates,
    compute_quote,
    evaluate,
    refund_in_currency,
    window_remaining_text,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FEE = FEE_PERCENT_DEFAULT


def at(text: str) -> datetime:
    """Parse a scenario timestamp like 2026-11-26T02:00:00Z."""
    return datetime.fromisoformat(text)


def run(facts: OrderFacts, now: datetime = NOW) -> Decision:
    return evaluate(facts, now=now, fee_percent=FEE)


# --------------------------------------------------------------------------- the example

# alice SUB-1002: Pro $20.00 paid 2026-11-26 02:00. Usage billed to the subscription since
# then: 1.456789 (03:00) + 2.00 (09:00) = 3.456789 $ = 3_456_789 micros.
SUB_1002 = OrderFacts(
    kind="subscription", status="paid", paid_cents=2000,
    paid_at=at("2026-11-26T02:00:00Z"), usage_micros=3_456_789,
)
# alice SUB-1001: Pro $20.00 paid 2026-10-27 02:00; its cycle saw 30.00 (10-28).
SUB_1001 = OrderFacts(
    kind="subscription", status="paid", paid_cents=2000,
    paid_at=at("2026-10-27T02:00:00Z"), usage_micros=30_000_000,
)
# gary SUB-1501: Max $100.00, a gift, no usage.
SUB_1501 = OrderFacts(
    kind="subscription", status="paid", paid_cents=10000,
    paid_at=at("2026-11-26T08:00:00Z"), usage_micros=0, gift=True,
)
# hana SUB-2001: Ultra $200.00 paid 00:30; usage 212.40 at 05:00.
SUB_2001 = OrderFacts(
    kind="subscription", status="paid", paid_cents=20000,
    paid_at=at("2026-11-26T00:30:00Z"), usage_micros=212_400_000,
)

# paul's top-up wallet: paid top-ups 25 + 50 + 100 + 10 = 185.00 (TOP-3005 is pending);
# usage 4.00 + 6.123456 + 1.000001 = 11.123457, of which bonus (gift 3.00 + Discount
# 2.50) absorbs 5.50 first, so top-ups absorb 5.623457: 185 - 5.623457 = 179.376543.
PAUL_BALANCE = 179_376_543

# TOP-3001: $50.00 Stripe, paid 11-25 20:00; usage after: 6.123456 + 1.000001 = 7.123457.
TOP_3001 = OrderFacts(
    kind="topup", status="paid", paid_cents=5000, paid_at=at("2026-11-25T20:00:00Z"),
    usage_micros=7_123_457, channel="stripe", topup_balance_micros=PAUL_BALANCE,
)
# TOP-3002: $100.00 Antom charged CNY 720.00, paid 09:15; usage after: 1.000001 (10:30).
TOP_3002 = OrderFacts(
    kind="topup", status="paid", paid_cents=10000, paid_at=at("2026-11-26T09:15:00Z"),
    usage_micros=1_000_001, channel="antom", topup_balance_micros=PAUL_BALANCE,
    charged_currency="CNY", charged_minor=72000,
)
# TOP-3003: $25.00 Stripe, paid 11-24 10:00; usage after: 4 + 6.123456 + 1.000001.
TOP_3003 = OrderFacts(
    kind="topup", status="paid", paid_cents=2500, paid_at=at("2026-11-24T10:00:00Z"),
    usage_micros=11_123_457, channel="stripe", topup_balance_micros=PAUL_BALANCE,
)
# TOP-3004: $10.00 bank transfer, paid 10:00; usage after: 1.000001.
TOP_3004 = OrderFacts(
    kind="topup", status="paid", paid_cents=1000, paid_at=at("2026-11-26T10:00:00Z"),
    usage_micros=1_000_001, channel="bank_transfer", topup_balance_micros=PAUL_BALANCE,
)
# TOP-3005: $30.00 Stripe, payment pending since 11:00; no usage after.
TOP_3005 = OrderFacts(
    kind="topup", status="pending", paid_cents=3000, paid_at=at("2026-11-26T11:00:00Z"),
    usage_micros=0, channel="stripe", topup_balance_micros=PAUL_BALANCE,
)
# rita TOP-4001: $20.00, paid 11:00, RF-4001 is Refunding (her $20 is held: balance 0).
TOP_4001 = OrderFacts(
    kind="topup", status="paid", paid_cents=2000, paid_at=at("2026-11-26T11:00:00Z"),
    usage_micros=0, refund_in_progress=True, topup_balance_micros=0,
)
# ivan TOP-5001: $40.00 paid 06:00, no usage; a -30.00 adjustment leaves 10.00.
TOP_5001 = OrderFacts(
    kind="topup", status="paid", paid_cents=4000, paid_at=at("2026-11-26T06:00:00Z"),
    usage_micros=0, topup_balance_micros=10_000_000,
)
# fiona: TOP-6001 $20.00 refunded in full by RF-6001 (Refunded); TOP-6002 $15.00 whose
# RF-6002 Failed (counts nothing, wallet re-credited). Her balance: 15.00.
TOP_6001 = OrderFacts(
    kind="topup", status="paid", paid_cents=2000, paid_at=at("2026-11-26T05:00:00Z"),
    usage_micros=0, already_refunded_cents=2000, full_refund_done=True,
    topup_balance_micros=15_000_000,
)
TOP_6002 = OrderFacts(
    kind="topup", status="paid", paid_cents=1500, paid_at=at("2026-11-26T07:00:00Z"),
    usage_micros=0, topup_balance_micros=15_000_000,
)


def test_alice_sub_1002_eligible_worked_example() -> None:
    d = run(SUB_1002)
    assert d.eligible and d.reason is None
    q = d.quote
    assert format_usd(q.paid_cents) == "$20.00"
    assert format_usd(q.usage_cents) == "$3.46"
    assert format_usd(q.already_refunded_cents) == "$0.00"
    assert format_usd(q.refundable_cents) == "$16.54"
    assert q.fee_percent == 5
    assert format_usd(q.fee_cents) == "$0.83"
    assert format_usd(q.final_cents) == "$15.71"
    assert q.final_charged_minor == 1571 and q.charged_currency == "USD"
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 14h 0m"
    assert d.window_ends_at == at("2026-11-27T02:00:00Z")


def test_alice_sub_1001_expired() -> None:
    d = run(SUB_1001)
    assert not d.eligible and d.reason is Reason.WINDOW_EXPIRED
    assert d.reason == "Refund window expired"
    assert d.window_remaining == timedelta(0)
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 0h 0m"


def test_gary_gift() -> None:
    assert run(SUB_1501).reason == "Gift subscriptions are not eligible for refunds"


def test_hana_usage_exceeds() -> None:
    d = run(SUB_2001)
    assert d.reason == "Usage exceeds refundable amount"
    assert d.quote.refundable_cents == 20000 - 21240  # kept negative in the quote
    assert d.quote.final_cents == 0 and d.quote.fee_cents == 0


def test_paul_top_3001() -> None:
    d = run(TOP_3001)
    assert d.eligible
    q = d.quote
    assert format_usd(q.usage_cents) == "$7.13"
    assert format_usd(q.refundable_cents) == "$42.87"
    assert format_usd(q.fee_cents) == "$2.15"
    assert format_usd(q.final_cents) == "$40.72"
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 8h 0m"


def test_paul_top_3002_cny() -> None:
    d = run(TOP_3002)
    assert d.eligible
    q = d.quote
    assert format_usd(q.usage_cents) == "$1.01"
    assert format_usd(q.fee_cents) == "$4.95"
    assert format_usd(q.final_cents) == "$94.04"
    # floor(9404 / 10000 * 72000) = floor(67708.8)
    assert q.final_charged_minor == 67708
    assert format_currency(q.final_charged_minor, q.charged_currency) == "CNY 677.08"
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 21h 15m"


def test_paul_top_3003_expired() -> None:
    assert run(TOP_3003).reason is Reason.WINDOW_EXPIRED


def test_paul_top_3004_not_online() -> None:
    assert run(TOP_3004).reason == "Not refundable online \u2014 request by email"


def test_paul_top_3005_pending() -> None:
    assert run(TOP_3005).reason == "Order not completed"


def test_rita_top_4001_in_progress() -> None:
    assert run(TOP_4001).reason == "Refund in progress"


def test_ivan_top_5001_insufficient() -> None:
    d = run(TOP_5001)
    assert d.quote.refundable_cents == 4000
    assert d.reason == "Insufficient balance"


def test_fiona_top_6001_fully_refunded() -> None:
    assert run(TOP_6001).reason == "Fully refunded"


def test_fiona_top_6002_eligible_after_failed_refund() -> None:
    d = run(TOP_6002)
    assert d.eligible
    assert format_usd(d.quote.final_cents) == "$14.25"
    assert format_usd(d.quote.fee_cents) == "$0.75"


# --------------------------------------------------------------------------- boundaries


def test_exactly_24h_is_expired() -> None:
    d = run(TOP_6002, now=TOP_6002.paid_at + WINDOW)
    assert d.reason is Reason.WINDOW_EXPIRED
    assert d.window_remaining == timedelta(0)


def test_one_minute_before_24h_is_eligible() -> None:
    d = run(TOP_6002, now=TOP_6002.paid_at + WINDOW - timedelta(minutes=1))
    assert d.eligible
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 0h 1m"


def test_one_microsecond_before_24h_is_eligible() -> None:
    d = run(TOP_6002, now=TOP_6002.paid_at + WINDOW - timedelta(microseconds=1))
    assert d.eligible
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 0h 0m"


def test_usage_equal_to_paid_exceeds() -> None:
    d = run(replace(SUB_1002, usage_micros=20_000_000))
    assert d.quote.refundable_cents == 0
    assert d.reason is Reason.USAGE_EXCEEDS


def test_one_micro_dollar_of_usage_is_a_cent() -> None:
    d = run(replace(SUB_1002, usage_micros=1))
    assert d.quote.usage_cents == 1
    assert d.quote.refundable_cents == 1999


def test_already_refunded_equal_to_paid_is_fully_refunded() -> None:
    d = run(replace(TOP_6002, already_refunded_cents=1500))
    assert d.reason is Reason.FULLY_REFUNDED


def test_partial_earlier_refund_is_deducted() -> None:
    d = run(replace(TOP_6002, already_refunded_cents=500))
    assert d.eligible
    assert d.quote.refundable_cents == 1000
    assert d.quote.final_cents == 950 and d.quote.fee_cents == 50


def test_balance_exactly_refundable_is_eligible() -> None:
    assert run(replace(TOP_5001, topup_balance_micros=40_000_000)).eligible


def test_balance_one_micro_below_refundable_is_insufficient() -> None:
    d = run(replace(TOP_5001, topup_balance_micros=40_000_000 - 1))
    assert d.reason is Reason.INSUFFICIENT_BALANCE


def test_balance_check_uses_refundable_not_final() -> None:
    # refundable 40.00, final 38.00: a balance of 39.00 covers final but not refundable.
    d = run(replace(TOP_5001, topup_balance_micros=39_000_000))
    assert d.quote.final_cents == 3800
    assert d.reason is Reason.INSUFFICIENT_BALANCE


# --------------------------------------------------------------------------- each reason


@pytest.mark.parametrize("status", ["pending", "failed", "canceled"])
def test_reason_not_completed(status: str) -> None:
    assert run(replace(SUB_1002, status=status)).reason is Reason.NOT_COMPLETED
    assert run(replace(TOP_6002, status=status)).reason is Reason.NOT_COMPLETED


def test_gift_only_applies_to_subscriptions() -> None:
    assert run(replace(SUB_1002, gift=True)).reason is Reason.GIFT
    assert run(replace(TOP_6002, gift=True)).eligible


def test_reason_in_progress_both_kinds() -> None:
    assert run(replace(SUB_1002, refund_in_progress=True)).reason is Reason.IN_PROGRESS
    assert run(replace(TOP_6002, refund_in_progress=True)).reason is Reason.IN_PROGRESS


def test_reason_fully_refunded_flag() -> None:
    assert run(replace(SUB_1002, full_refund_done=True)).reason is Reason.FULLY_REFUNDED


@pytest.mark.parametrize("channel", ["bank_transfer", "wire", "paypal", ""])
def test_not_online_only_applies_to_topups(channel: str) -> None:
    assert run(replace(TOP_6002, channel=channel)).reason is Reason.NOT_ONLINE
    assert run(replace(SUB_1002, channel=channel)).eligible


def test_online_channels() -> None:
    assert ONLINE_CHANNELS == {"stripe", "antom"}
    assert run(replace(TOP_6002, channel="antom")).eligible


def test_insufficient_balance_only_applies_to_topups() -> None:
    assert run(replace(SUB_1002, topup_balance_micros=0)).eligible


def test_topup_without_balance_raises_only_when_needed() -> None:
    with pytest.raises(ValueError, match="topup_balance_micros"):
        run(replace(TOP_6002, topup_balance_micros=None))
    # decided before check 8: the balance is not needed
    assert run(replace(TOP_3005, topup_balance_micros=None)).reason is Reason.NOT_COMPLETED


def test_reason_values_and_order() -> None:
    assert [r.value for r in Reason] == [
        "Order not completed",
        "Gift subscriptions are not eligible for refunds",
        "Refund in progress",
        "Fully refunded",
        "Not refundable online \u2014 request by email",
        "Refund window expired",
        "Usage exceeds refundable amount",
        "Insufficient balance",
    ]
    assert f"{Reason.GIFT}" == Reason.GIFT.value


def test_first_failing_check_wins() -> None:
    """Turn on every failure, then remove them one by one: the reason walks down the list."""
    worst_sub = replace(
        SUB_1002, status="failed", gift=True, refund_in_progress=True, full_refund_done=True,
        usage_micros=30_000_000,
    )
    late = SUB_1002.paid_at + timedelta(days=3)
    expected_sub = [
        ({}, Reason.NOT_COMPLETED),
        ({"status": "paid"}, Reason.GIFT),
        ({"gift": False}, Reason.IN_PROGRESS),
        ({"refund_in_progress": False}, Reason.FULLY_REFUNDED),
        ({"full_refund_done": False}, Reason.WINDOW_EXPIRED),
    ]
    facts = worst_sub
    for change, reason in expected_sub:
        facts = replace(facts, **change)
        assert run(facts, now=late).reason is reason, change
    assert run(facts).reason is Reason.USAGE_EXCEEDS  # back inside the window

    worst_topup = replace(
        TOP_6002, status="canceled", refund_in_progress=True, already_refunded_cents=1500,
        channel="bank_transfer", topup_balance_micros=0,
    )
    late = TOP_6002.paid_at + timedelta(hours=30)
    expected_topup = [
        ({}, Reason.NOT_COMPLETED),
        ({"status": "paid"}, Reason.IN_PROGRESS),
        ({"refund_in_progress": False}, Reason.FULLY_REFUNDED),
        ({"already_refunded_cents": 0}, Reason.NOT_ONLINE),
        ({"channel": "antom"}, Reason.WINDOW_EXPIRED),
    ]
    facts = worst_topup
    for change, reason in expected_topup:
        facts = replace(facts, **change)
        assert run(facts, now=late).reason is reason, change
    assert run(facts).reason is Reason.INSUFFICIENT_BALANCE
    assert run(replace(facts, usage_micros=15_000_000)).reason is Reason.USAGE_EXCEEDS


def test_evaluate_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="now"):
        evaluate(SUB_1002, now=datetime(2026, 11, 26, 12, 0), fee_percent=FEE)
    with pytest.raises(ValueError, match="paid_at"):
        run(replace(SUB_1002, paid_at=datetime(2026, 11, 26, 2, 0)))


def test_evaluate_accepts_other_timezones() -> None:
    tokyo = timezone(timedelta(hours=9))
    d = run(SUB_1002, now=NOW.astimezone(tokyo))
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 14h 0m"


# --------------------------------------------------------------------------- quote


def test_compute_quote_worked_example() -> None:
    q = compute_quote(paid_cents=2000, usage_micros=3_456_789, already_refunded_cents=0,
                      fee_percent=5)
    assert (q.usage_cents, q.refundable_cents, q.final_cents, q.fee_cents) == (346, 1654, 1571, 83)


@pytest.mark.parametrize(
    ("fee", "final"), [(0, 1654), (1, 1637), (5, 1571), (50, 827), (99, 16), (100, 0)]
)
def test_compute_quote_fee_percent(fee: int, final: int) -> None:
    q = compute_quote(paid_cents=2000, usage_micros=3_456_789, already_refunded_cents=0,
                      fee_percent=fee)
    assert q.final_cents == final and q.fee_cents == 1654 - final


@pytest.mark.parametrize("fee", [-1, 101, 5.0, "5", True, None])
def test_compute_quote_rejects_bad_fee_percent(fee: object) -> None:
    with pytest.raises(ValueError, match="fee_percent"):
        compute_quote(paid_cents=2000, usage_micros=0, already_refunded_cents=0,
                      fee_percent=fee)  # type: ignore[arg-type]


def test_compute_quote_rejects_negative_inputs() -> None:
    with pytest.raises(ValueError, match="usage_micros"):
        compute_quote(paid_cents=2000, usage_micros=-1, already_refunded_cents=0, fee_percent=5)
    with pytest.raises(ValueError, match="paid_cents"):
        compute_quote(paid_cents=-1, usage_micros=0, already_refunded_cents=0, fee_percent=5)


def test_compute_quote_foreign_currency_needs_charged_amount() -> None:
    with pytest.raises(ValueError, match="charged_minor"):
        compute_quote(paid_cents=10000, usage_micros=0, already_refunded_cents=0,
                      fee_percent=5, charged_currency="CNY")


def test_compute_quote_zero_decimal_currency() -> None:
    # $10.00 charged JPY 1,500: final 9.50 → floor(950 * 1500 / 1000) = 1425 yen
    q = compute_quote(paid_cents=1000, usage_micros=0, already_refunded_cents=0,
                      fee_percent=5, charged_currency="JPY", charged_minor=1500)
    assert q.final_charged_minor == 1425
    assert format_currency(q.final_charged_minor, q.charged_currency) == "JPY 1,425"


def test_refund_in_currency() -> None:
    assert refund_in_currency(9404, 10000, 72000) == 67708
    assert refund_in_currency(0, 0, 72000) == 0
    assert refund_in_currency(1, 3, 2) == 0
    with pytest.raises(ValueError):
        refund_in_currency(1, 0, 100)


# --------------------------------------------------------------------------- window text


@pytest.mark.parametrize(
    ("remaining", "text"),
    [
        (timedelta(hours=14), "14h 0m"),
        (timedelta(hours=21, minutes=15), "21h 15m"),
        (timedelta(hours=23, minutes=59, seconds=59), "23h 59m"),
        (timedelta(seconds=59), "0h 0m"),
        (timedelta(minutes=1), "0h 1m"),
        (timedelta(0), "0h 0m"),
        (timedelta(minutes=-5), "0h 0m"),
    ],
)
def test_window_remaining_text(remaining: timedelta, text: str) -> None:
    assert window_remaining_text(remaining) == f"Refund window remaining {text}"


# --------------------------------------------------------------------------- arrival dates


def test_add_business_days() -> None:
    friday = date(2026, 11, 27)
    assert friday.weekday() == 4
    assert add_business_days(friday, 0) == friday
    assert add_business_days(friday, 1) == date(2026, 11, 30)  # Monday
    assert add_business_days(friday, 5) == date(2026, 12, 4)
    with pytest.raises(ValueError):
        add_business_days(friday, -1)


@pytest.mark.parametrize(
    ("approved", "first", "last"),
    [
        ("2026-11-26T12:00:00Z", date(2026, 11, 27), date(2026, 12, 1)),  # Thu → Fri..Tue
        ("2026-11-27T23:59:00Z", date(2026, 11, 30), date(2026, 12, 2)),  # Fri → Mon..Wed
        ("2026-11-28T10:00:00Z", date(2026, 11, 30), date(2026, 12, 2)),  # Sat → Mon..Wed
        ("2026-11-29T10:00:00Z", date(2026, 11, 30), date(2026, 12, 2)),  # Sun → Mon..Wed
        ("2026-11-30T10:00:00Z", date(2026, 12, 1), date(2026, 12, 3)),  # Mon → Tue..Thu
        # Monday 01:00 in UTC+8 is still Sunday in UTC: the UTC date counts.
        ("2026-11-30T01:00:00+08:00", date(2026, 11, 30), date(2026, 12, 2)),
    ],
)
def test_arrival_dates_skip_weekends(approved: str, first: date, last: date) -> None:
    assert arrival_dates(at(approved)) == (first, last)


def test_arrival_dates_needs_aware_datetime() -> None:
    with pytest.raises(ValueError):
        arrival_dates(datetime(2026, 11, 27, 12, 0))


# --------------------------------------------------------------------------- statuses


def test_status_words() -> None:
    assert STATUS_WORDS["refunding"] == (
        "\U0001f535", "Refunding",
        "Refund is being processed and will be returned within 1-3 business days",
    )
    assert STATUS_WORDS["refunded"].label == "Refunded"
    assert STATUS_WORDS["failed"].description == (
        "Refund could not be processed \u2014 please contact support"
    )
    emoji, label, description = STATUS_WORDS["canceled"]
    assert (emoji, label, description) == (
        "\u26aa", "Canceled", "Refund request has been canceled"
    )
    assert STATUS_WORDS["refunded"].emoji == "\U0001f7e2"
    assert STATUS_WORDS["failed"].emoji == "\U0001f534"


# --------------------------------------------------------------------------- money errors


def test_money_parse_errors_name_the_field() -> None:
    with pytest.raises(MoneyError) as err:
        parse_money("12.345", places=2, field="topups[1].amount")
    assert "topups[1].amount" in str(err.value)
    with pytest.raises(MoneyError) as err:
        parse_money("1e2", places=6, field="usage[0].amount")
    assert "usage[0].amount" in str(err.value)


def test_a_refund_that_would_pay_nothing_is_refused() -> None:
    # refundable 1 cent: final floor(1 * 0.95) = 0 -> nothing to pay back, nothing to lose
    facts = replace(TOP_6002, usage_micros=(TOP_6002.paid_cents - 1) * 10_000)
    d = run(facts)
    assert (d.quote.refundable_cents, d.quote.final_cents) == (1, 0)
    assert d.reason is Reason.USAGE_EXCEEDS
    two_cents = run(replace(facts, usage_micros=(TOP_6002.paid_cents - 2) * 10_000))
    assert (two_cents.eligible, two_cents.quote.final_cents) == (True, 1)


def test_support_may_refund_a_channel_that_is_not_online() -> None:
    bank = replace(TOP_6002, channel="bank_transfer")
    assert run(bank).reason is Reason.NOT_ONLINE
    assert run(replace(bank, via_support=True)).eligible
