"""The numbers of a credit note that a refund does not store directly, derived exactly
from the integers it does store (SPEC 2.1's quote, read backwards).

A refund stores its usage, refundable (``gross``), fee and final amounts in cents; its
order stores what was paid. The quote's identities then give the rest:

- ``refundable = paid - usage - already_refunded``, so what had been refunded before
  the approval is ``paid - usage - gross`` — exact for every approved refund, since an
  approval requires ``refundable > 0`` (a refund that releases nothing is refused);
- ``final = refundable * (100 - p) // 100`` and ``fee = refundable - final``: the
  percentage ``p`` follows from (gross, fee) only when a single integer percentage
  gives that fee. For small amounts several do (10 cents at 5 % or 6 % both leave a
  1-cent fee), so the approval records the percentage it applied in its audit detail,
  and this derivation is only the fallback for refunds approved before it did.

Pure: integers in, integers (or None: not known exactly) out.
"""

from __future__ import annotations


def already_refunded_cents(*, paid_cents: int, usage_cents: int, gross_cents: int) -> int:
    """What the order's earlier Refunded refunds had released when this one was approved."""
    return paid_cents - usage_cents - gross_cents


def fee_percent_of(*, gross_cents: int, fee_cents: int) -> int | None:
    """The integer fee percentage that turns ``gross_cents`` into ``fee_cents`` by the
    quote's rounding, or None when none does or more than one does (not known exactly)."""
    if gross_cents <= 0:
        return None
    found = [p for p in range(0, 101) if gross_cents - gross_cents * (100 - p) // 100 == fee_cents]
    return found[0] if len(found) == 1 else None

