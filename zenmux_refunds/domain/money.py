"""Money: parsing, unit conversion and formatting, with integers only (never float).

Units used across the project:
- USD cents (``int``) for prices, payments, quotes and refunds;
- USD micro-dollars (``int``, 10**-6 $) for usage and wallet balances;
- a currency's minor unit (``int``) for amounts charged in another currency.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, Inexact, InvalidOperation, localcontext

MICROS_PER_CENT = 10_000
MICROS_PER_DOLLAR = 1_000_000

# ISO 4217 minor-unit exponents of the currencies we may be charged in.
CURRENCY_EXPONENT: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CNY": 2,
    "HKD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "MYR": 2,
    "PHP": 2,
    "THB": 2,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}

_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


class MoneyError(ValueError):
    """An amount could not be parsed; the message names the field and the problem."""


def parse_money(text: str, *, places: int, field: str, allow_negative: bool = False) -> int:
    """Parse a plain decimal string into integer units of 10**-places.

    ``parse_money("20.00", places=2, field="amount") == 2000``. Accepts only
    ``-?digits(.digits)?`` with at most ``places`` decimals; rejects exponents, NaN/Inf,
    whitespace, empty strings and (unless ``allow_negative``) negative amounts.
    """
    if not isinstance(text, str):
        raise MoneyError(f"{field}: expected a decimal string, got {type(text).__name__}")
    if text == "":
        raise MoneyError(f"{field}: amount is empty")
    if _DECIMAL_RE.fullmatch(text) is None:
        raise MoneyError(f"{field}: {text!r} is not a plain decimal amount (like 20.00)")
    decimals = len(text.partition(".")[2])
    if decimals > places:
        raise MoneyError(f"{field}: {text!r} has {decimals} decimals, at most {places} allowed")
    with localcontext() as ctx:
        ctx.prec = len(text) + places + 2
        ctx.traps[Inexact] = True
        try:
            value = Decimal(text)
            units = value.scaleb(places)
        except (InvalidOperation, Inexact) as exc:  # pragma: no cover - regex guards this
            raise MoneyError(f"{field}: {text!r} is not a valid amount") from exc
    if value < 0 and not allow_negative:
        raise MoneyError(f"{field}: {text!r} must not be negative")
    return int(units)


def micros_to_cents_up(micros: int) -> int:
    """Micro-dollars to cents rounded up (towards +inf): the rule for usage."""
    return -(-micros // MICROS_PER_CENT)


def micros_to_cents_down(micros: int) -> int:
    """Micro-dollars to cents rounded down (towards -inf): the rule for showing balances."""
    return micros // MICROS_PER_CENT


def micros_to_cents_toward_zero(micros: int) -> int:
    """Micro-dollars to cents rounded toward zero: the rule for showing a movement.

    Symmetric (``f(-m) == -f(m)``): a credit and the debit that undoes it show the same
    amount, which rounding down would not (-$0.005 would show as -$0.01).
    """
    cents = abs(micros) // MICROS_PER_CENT
    return -cents if micros < 0 else cents


def cents_to_micros(cents: int) -> int:
    """Cents to micro-dollars (exact)."""
    return cents * MICROS_PER_CENT


def _group(minor: int, exponent: int) -> str:
    """Absolute amount with thousands separators and ``exponent`` decimals."""
    whole, frac = divmod(abs(minor), 10**exponent)
    text = f"{whole:,}"
    return f"{text}.{frac:0{exponent}d}" if exponent else text


def format_usd(cents: int) -> str:
    """``123456`` → ``"$1,234.56"``; ``-300`` → ``"-$3.00"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${_group(cents, 2)}"


def format_usd_micros(micros: int) -> str:
    """Format micro-dollars as USD, rounded down to the cent (balances)."""
    return format_usd(micros_to_cents_down(micros))


def format_usd_movement(micros: int) -> str:
    """A wallet movement to the cent, rounded toward zero, with its sign.

    ``2_500_000`` → ``"+$2.50"``, ``-2_509_999`` → ``"-$2.50"``, ``0`` → ``"$0.00"``. The
    sign is the movement's, even when less than a cent is shown: ``-5_000`` → ``"-$0.00"``.
    """
    sign = "-" if micros < 0 else "+" if micros > 0 else ""
    return f"{sign}{format_usd(abs(micros_to_cents_toward_zero(micros)))}"


def currency_exponent(currency: str, *, field: str = "currency") -> int:
    """Minor-unit exponent of a currency code (case-insensitive); MoneyError if unknown."""
    try:
        return CURRENCY_EXPONENT[currency.upper()]
    except (KeyError, AttributeError):
        raise MoneyError(f"{field}: unknown currency {currency!r}") from None


def format_currency(minor: int, currency: str) -> str:
    """USD as ``"$1.00"``; others as code, space, amount: ``"CNY 677.08"``, ``"JPY 1,200"``.

    Negative amounts put the sign first: ``"-CNY 3.00"``.
    """
    code = currency.upper()
    if code == "USD":
        return format_usd(minor)
    sign = "-" if minor < 0 else ""
    return f"{sign}{code} {_group(minor, currency_exponent(code))}"


def format_paid(usd_cents: int, currency: str, charged_minor: int) -> str:
    """What an order cost: ``"$100.00"``, followed by what was charged when that was in
    another currency: ``"$100.00 (CNY 720.00)"``."""
    usd = format_usd(usd_cents)
    if currency.upper() == "USD":
        return usd
    return f"{usd} ({format_currency(charged_minor, currency)})"


def format_returned(usd_cents: int, currency: str, charged_minor: int) -> str:
    """What a refund returns: ``"$15.71"``, or, for an order charged in another
    currency, that currency first with the USD value after it: ``"CNY 677.08 ($94.04)"``."""
    usd = format_usd(usd_cents)
    if currency.upper() == "USD":
        return usd
    return f"{format_currency(charged_minor, currency)} ({usd})"


def parse_currency_amount(
    text: str, currency: str, field: str, *, allow_negative: bool = False
) -> int:
    """Parse an amount of ``currency`` into its minor units (``"720.00", "CNY"`` → 72000)."""
    places = currency_exponent(currency, field=field)
    return parse_money(text, places=places, field=field, allow_negative=allow_negative)


def format_instant(dt: datetime) -> str:
    """An aware datetime as ``"2026-11-26 12:00 UTC"``; naive datetimes are refused."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_instant needs a timezone-aware datetime")
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
