"""Unit tests for zenmux_refunds.domain.money."""

from datetime import datetime, timedelta, timezone

import pytest

from zenmux_refunds.domain.money import (
    MICROS_PER_CENT,
    MICROS_PER_DOLLAR,
    MoneyError,
    format_currency,
    format_instant,
    format_usd,
    format_usd_micros,
    micros_to_cents_down,
    micros_to_cents_up,
    parse_currency_amount,
    parse_money,
)


def test_units() -> None:
    assert MICROS_PER_CENT * 100 == MICROS_PER_DOLLAR == 1_000_000


@pytest.mark.parametrize(
    ("text", "places", "expected"),
    [
        ("20.00", 2, 2000),
        ("20", 2, 2000),
        ("20.5", 2, 2050),
        ("0.01", 2, 1),
        ("3.456789", 6, 3_456_789),
        ("1.000001", 6, 1_000_001),
        ("212.40", 6, 212_400_000),
        ("1200", 0, 1200),
        ("12345678901234567890123456789.99", 2, 1234567890123456789012345678999),
    ],
)
def test_parse_money(text: str, places: int, expected: int) -> None:
    assert parse_money(text, places=places, field="amount") == expected


def test_parse_money_negative_only_when_allowed() -> None:
    with pytest.raises(MoneyError, match="adjustment.*negative"):
        parse_money("-30.00", places=2, field="adjustment")
    assert parse_money("-30.00", places=2, field="adjustment", allow_negative=True) == -3000


@pytest.mark.parametrize(
    "bad",
    ["", " 1.00", "1.00 ", "1.00\n", "1e3", "1E-2", "NaN", "Infinity", "inf", "+1.00",
     "1.", ".5", "1,000.00", "1.2.3", "abc", "١٢", "0x10", "--1"],
)
def test_parse_money_rejects_and_names_field(bad: str) -> None:
    with pytest.raises(MoneyError, match="^usage.amount: "):
        parse_money(bad, places=6, field="usage.amount")


def test_parse_money_rejects_too_many_decimals() -> None:
    with pytest.raises(MoneyError, match="topups.amount.*3 decimals.*at most 2"):
        parse_money("20.001", places=2, field="topups.amount")


@pytest.mark.parametrize("bad", [20, 20.0, None, b"20.00"])
def test_parse_money_rejects_non_strings(bad: object) -> None:
    with pytest.raises(MoneyError, match="amount: expected a decimal string"):
        parse_money(bad, places=2, field="amount")  # type: ignore[arg-type]


def test_money_error_is_value_error() -> None:
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    ("micros", "up", "down"),
    [
        (0, 0, 0),
        (1, 1, 0),
        (9_999, 1, 0),
        (10_000, 1, 1),
        (10_001, 2, 1),
        (3_456_789, 346, 345),
        (-1, 0, -1),
        (-10_000, -1, -1),
        (-10_001, -1, -2),
    ],
)
def test_micros_to_cents(micros: int, up: int, down: int) -> None:
    assert micros_to_cents_up(micros) == up
    assert micros_to_cents_down(micros) == down


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "$0.00"), (5, "$0.05"), (2000, "$20.00"), (123456, "$1,234.56"),
     (100_000_000, "$1,000,000.00"), (-300, "-$3.00"), (-5, "-$0.05")],
)
def test_format_usd(cents: int, text: str) -> None:
    assert format_usd(cents) == text


def test_format_usd_micros_rounds_down() -> None:
    assert format_usd_micros(179_376_543) == "$179.37"
    assert format_usd_micros(9_999) == "$0.00"
    assert format_usd_micros(-1) == "-$0.01"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (67708, "CNY", "CNY 677.08"),
        (72000, "cny", "CNY 720.00"),
        (1200, "JPY", "JPY 1,200"),
        (1234567, "KRW", "KRW 1,234,567"),
        (123456, "EUR", "EUR 1,234.56"),
        (1571, "USD", "$15.71"),
        (-300, "HKD", "-HKD 3.00"),
    ],
)
def test_format_currency(minor: int, currency: str, text: str) -> None:
    assert format_currency(minor, currency) == text


def test_format_currency_unknown() -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        format_currency(100, "XXX")


def test_parse_currency_amount() -> None:
    assert parse_currency_amount("720.00", "CNY", "charged.amount") == 72000
    assert parse_currency_amount("1200", "JPY", "charged.amount") == 1200
    with pytest.raises(MoneyError, match="charged.amount.*at most 0"):
        parse_currency_amount("1200.5", "JPY", "charged.amount")
    with pytest.raises(MoneyError, match="^charged.currency: unknown currency 'ZZZ'"):
        parse_currency_amount("1.00", "ZZZ", "charged.currency")


def test_format_instant() -> None:
    dt = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    assert format_instant(dt) == "2026-11-26 12:00 UTC"
    plus8 = timezone(timedelta(hours=8))
    assert format_instant(datetime(2026, 11, 26, 4, 0, 59, tzinfo=plus8)) == "2026-11-25 20:00 UTC"
    with pytest.raises(ValueError):
        format_instant(datetime(2026, 11, 26, 12, 0))


def test_format_returned_leads_with_the_charged_currency():
    from zenmux_refunds.domain.money import format_returned

    assert format_returned(1571, "USD", 1571) == "$15.71"
    assert format_returned(9404, "CNY", 67708) == "CNY 677.08 ($94.04)"
    assert format_returned(0, "cny", 0) == "CNY 0.00 ($0.00)"


def test_format_paid_follows_with_the_charged_currency():
    from zenmux_refunds.domain.money import format_paid

    assert format_paid(10000, "USD", 10000) == "$100.00"
    assert format_paid(10000, "CNY", 72000) == "$100.00 (CNY 720.00)"
