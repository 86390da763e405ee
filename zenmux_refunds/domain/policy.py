"""The refund policy (SPEC section 2): data in, decisions out.

Pure functions over plain values: no database, no configuration, no clock (``now`` and
``fee_percent`` are always arguments). All money is integer: USD cents, usage
micro-dollars, and minor units of the charged currency.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Literal, NamedTuple

from .money import MICROS_PER_CENT, micros_to_cents_up

FEE_PERCENT_DEFAULT = 5  # callers pass fee_percent from configuration; policy never reads it
WINDOW = timedelta(hours=24)
ONLINE_CHANNELS = frozenset({"stripe", "antom"})


class Reason(StrEnum):
    """Why an order is not refundable. Value = exact UI wording; declared in check order."""

    NOT_COMPLETED = "Order not completed"
    GIFT = "Gift subscriptions are not eligible for refunds"
    IN_PROGRESS = "Refund in progress"
    FULLY_REFUNDED = "Fully refunded"
    NOT_ONLINE = "Not refundable online \u2014 request by email"
    WINDOW_EXPIRED = "Refund window expired"
    USAGE_EXCEEDS = "Usage exceeds refundable amount"
    INSUFFICIENT_BALANCE = "Insufficient balance"


class StatusWords(NamedTuple):
    """How a refund status is shown: emoji, label, description."""

    emoji: str
    label: str
    description: str


STATUS_WORDS: dict[str, StatusWords] = {
    "refunding": StatusWords(
        "\U0001f535",
        "Refunding",
        "Refund is being processed and will be returned within 1-3 business days",
    ),
    "refunded": StatusWords(
        "\U0001f7e2",
        "Refunded",
        "Refund is complete and funds have been returned to your payment method",
    ),
    "failed": StatusWords(
        "\U0001f534", "Failed", "Refund could not be processed \u2014 please contact support"
    ),
    "canceled": StatusWords("\u26aa", "Canceled", "Refund request has been canceled"),
    # not a status: a Canceled or Failed refund the payment provider paid after all,
    # until support has looked at it (services/refunds.py)
    "needs_attention": StatusWords(
        "\U0001f7e0", "Under review",
        "Our support team is reviewing this refund and will contact you",
    ),
}
NEEDS_ATTENTION = "needs_attention"


# --------------------------------------------------------------------------- quote


@dataclass(frozen=True)
class Quote:
    """A refund quote in whole USD cents (SPEC 2.1), plus the amount in the charged currency.

    ``refundable_cents`` may be negative (usage exceeded what is left); then
    ``final_cents``, ``fee_cents`` and ``final_charged_minor`` are all 0.
    """

    paid_cents: int
    usage_micros: int
    usage_cents: int
    already_refunded_cents: int
    refundable_cents: int
    fee_percent: int
    fee_cents: int
    final_cents: int
    charged_currency: str
    final_charged_minor: int


def _check_fee_percent(fee_percent: int) -> None:
    if isinstance(fee_percent, bool) or not isinstance(fee_percent, int):
        raise ValueError(f"fee_percent must be an int, got {fee_percent!r}")
    if not 0 <= fee_percent <= 100:
        raise ValueError(f"fee_percent must be within 0..100, got {fee_percent}")


def _check_amount(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def refund_in_currency(final_cents: int, credited_cents: int, charged_minor: int) -> int:
    """Refund in the charged currency, in proportion, rounded down (SPEC 2.1).

    ``floor(final_cents / credited_cents * charged_minor)`` with integer math: no new
    exchange rate is applied.
    """
    if final_cents == 0:
        return 0
    if credited_cents <= 0:
        raise ValueError("credited_cents must be positive")
    return final_cents * charged_minor // credited_cents


def compute_quote(
    *,
    paid_cents: int,
    usage_micros: int,
    already_refunded_cents: int,
    fee_percent: int,
    charged_currency: str = "USD",
    charged_minor: int | None = None,
) -> Quote:
    """Compute the quote in the SPEC 2.1 order: usage up, refundable, final down, fee = rest.

    When ``refundable <= 0`` nothing is refunded: final = fee = 0 (no fee is charged on a
    refund that cannot happen; the order is then "Usage exceeds refundable amount" or
    "Fully refunded"). ``charged_minor`` defaults to ``paid_cents`` for USD and is required
    for any other currency.
    """
    _check_fee_percent(fee_percent)
    _check_amount("paid_cents", paid_cents)
    _check_amount("usage_micros", usage_micros)
    _check_amount("already_refunded_cents", already_refunded_cents)
    currency = charged_currency.upper()
    if charged_minor is None:
        if currency != "USD":
            raise ValueError(f"charged_minor is required for currency {currency}")
        charged_minor = paid_cents
    _check_amount("charged_minor", charged_minor)

    usage_cents = micros_to_cents_up(usage_micros)
    refundable = paid_cents - usage_cents - already_refunded_cents
    if refundable > 0:
        final = refundable * (100 - fee_percent) // 100
        fee = refundable - final
    else:
        final = fee = 0
    return Quote(
        paid_cents=paid_cents,
        usage_micros=usage_micros,
        usage_cents=usage_cents,
        already_refunded_cents=already_refunded_cents,
        refundable_cents=refundable,
        fee_percent=fee_percent,
        fee_cents=fee,
        final_cents=final,
        charged_currency=currency,
        final_charged_minor=refund_in_currency(final, paid_cents, charged_minor),
    )


# --------------------------------------------------------------------------- eligibility


@dataclass(frozen=True)
class OrderFacts:
    """Everything the policy needs to know about one order (gathered by the caller)."""

    kind: Literal["subscription", "topup"]
    status: str  # "paid" | "pending" | "failed" | "canceled"
    paid_cents: int
    paid_at: datetime  # aware
    usage_micros: int  # usage counted for the order (SPEC 2.3), computed by the caller
    already_refunded_cents: int = 0  # gross of earlier refunds that ended Refunded
    refund_in_progress: bool = False
    full_refund_done: bool = False  # a full refund of it ended Refunded
    gift: bool = False  # subscriptions only
    channel: str = "stripe"
    topup_balance_micros: int | None = None  # required for topups (reason 8)
    charged_currency: str = "USD"
    charged_minor: int | None = None
    # A refund that support approves from an e-mail request may return any channel's
    # payment (paid out manually where no provider can): reason 5 does not apply.
    via_support: bool = False


@dataclass(frozen=True)
class Decision:
    """Eligibility, the first failing reason (None when eligible), the quote and the window."""

    eligible: bool
    reason: Reason | None
    quote: Quote
    window_ends_at: datetime
    window_remaining: timedelta  # zero when expired, never negative


def _require_aware(name: str, dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _first_reason(
    facts: OrderFacts, quote: Quote, now: datetime, ends_at: datetime
) -> Reason | None:
    """The SPEC 2.4 checks, in order; the first that fails wins."""
    topup = facts.kind == "topup"
    if facts.status != "paid":
        return Reason.NOT_COMPLETED
    if facts.kind == "subscription" and facts.gift:
        return Reason.GIFT
    if facts.refund_in_progress:
        return Reason.IN_PROGRESS
    if facts.full_refund_done or facts.already_refunded_cents >= facts.paid_cents:
        return Reason.FULLY_REFUNDED
    if topup and facts.channel.lower() not in ONLINE_CHANNELS and not facts.via_support:
        return Reason.NOT_ONLINE
    if now >= ends_at:
        return Reason.WINDOW_EXPIRED
    if quote.refundable_cents <= 0 or quote.final_cents <= 0 or quote.final_charged_minor <= 0:
        # Also when the fee and the rounding leave nothing to pay back (1 cent
        # refundable; a sub-unit share of a zero-decimal currency): a refund that pays
        # nothing would still downgrade the plan or forfeit bonuses.
        return Reason.USAGE_EXCEEDS
    if topup:
        if facts.topup_balance_micros is None:
            raise ValueError("topup_balance_micros is required to evaluate a top-up")
        if facts.topup_balance_micros < quote.refundable_cents * MICROS_PER_CENT:
            return Reason.INSUFFICIENT_BALANCE
    return None


def evaluate(facts: OrderFacts, *, now: datetime, fee_percent: int) -> Decision:
    """Decide whether ``facts`` is refundable at ``now`` and quote it (always quoted).

    ``topup_balance_micros`` is only needed once a top-up reaches check 8; a top-up that
    gets there without it raises ValueError.
    """
    if facts.kind not in ("subscription", "topup"):
        raise ValueError(f"unknown order kind {facts.kind!r}")
    _require_aware("now", now)
    _require_aware("paid_at", facts.paid_at)
    quote = compute_quote(
        paid_cents=facts.paid_cents,
        usage_micros=facts.usage_micros,
        already_refunded_cents=facts.already_refunded_cents,
        fee_percent=fee_percent,
        charged_currency=facts.charged_currency,
        charged_minor=facts.charged_minor,
    )
    ends_at = facts.paid_at + WINDOW
    reason = _first_reason(facts, quote, now, ends_at)
    return Decision(
        eligible=reason is None,
        reason=reason,
        quote=quote,
        window_ends_at=ends_at,
        window_remaining=max(ends_at - now, timedelta(0)),
    )


def window_remaining_text(remaining: timedelta) -> str:
    """``"Refund window remaining 14h 0m"``: whole hours then minutes, rounded down."""
    minutes = max(remaining, timedelta(0)) // timedelta(minutes=1)
    hours, minutes = divmod(minutes, 60)
    return f"Refund window remaining {hours}h {minutes}m"


# --------------------------------------------------------------------------- arrival


def add_business_days(d: date, n: int, holidays: Container[date] = frozenset()) -> date:
    """The ``n``-th business day after ``d``: a day that is neither a Saturday, a Sunday
    nor in ``holidays`` (the calendar the caller chose; none by default). ``n == 0``
    returns ``d``."""
    if n < 0:
        raise ValueError("n must not be negative")
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            n -= 1
    return d


def arrival_dates(approved_at: datetime,
                  holidays: Container[date] = frozenset()) -> tuple[date, date]:
    """Expected arrival: 1 to 3 business days after the approval's UTC date."""
    _require_aware("approved_at", approved_at)
    day = approved_at.astimezone(timezone.utc).date()
    return add_business_days(day, 1, holidays), add_business_days(day, 3, holidays)
