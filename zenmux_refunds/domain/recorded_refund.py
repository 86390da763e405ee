"""The amounts of a refund that history already holds (a scenario's ``refunds``).

A scenario declares a past refund by the credit value it released (``amount``, its
gross, fee included), not by a quote. Its stored amounts follow from that value with the
quote's own arithmetic (SPEC 2.1): the fee and the final amount from the gross, the
amount in the charged currency in proportion; and the usage the refund left behind is
what of the order neither it nor earlier Refunded refunds released.

Pure: integer cents and minor units in, a :class:`RecordedRefund` out.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenmux_refunds.domain.policy import compute_quote


@dataclass(frozen=True)
class RecordedRefund:
    usage_cents: int  # of the order, neither refunded before nor by this refund
    gross_cents: int  # the credit value released (= the declared amount)
    fee_cents: int
    final_cents: int  # what the customer received, in USD cents
    currency: str  # the charged currency
    final_minor: int  # what the customer received, in that currency's minor unit


def recorded_refund(*, paid_cents: int, amount_cents: int, prior_refunded_cents: int,
                    fee_percent: int, charged_currency: str = "USD",
                    charged_minor: int | None = None) -> RecordedRefund:
    """The stored amounts of a past refund of ``amount_cents`` of an order of ``paid_cents``.

    ``prior_refunded_cents``: the gross of the order's earlier refunds that ended
    Refunded. ``amount_cents`` must be within ``0..paid_cents``; ``charged_minor`` is
    required for a currency other than USD (as for :func:`compute_quote`).
    """
    if not 0 <= amount_cents <= paid_cents:
        raise ValueError(f"amount_cents must be within 0..{paid_cents}, got {amount_cents}")
    quote = compute_quote(
        paid_cents=paid_cents, usage_micros=0,
        already_refunded_cents=paid_cents - amount_cents, fee_percent=fee_percent,
        charged_currency=charged_currency, charged_minor=charged_minor,
    )
    return RecordedRefund(
        usage_cents=max(paid_cents - prior_refunded_cents - amount_cents, 0),
        gross_cents=quote.refundable_cents,
        fee_cents=quote.fee_cents,
        final_cents=quote.final_cents,
        currency=quote.charged_currency,
        final_minor=quote.final_charged_minor,
    )
