"""The typed words of the product: statuses and kinds, each a ``StrEnum``.

A member *is* its string (``RefundStatus.REFUNDING == "refunding"``), so the values the
database stores, the scenario files carry and the tests compare stay what they were;
code names the member instead of repeating the literal. "kind" used to mean four
things; each now has its own type: :class:`OrderKind` (what was paid for),
:class:`RefundScope` (full or partial), :class:`LedgerKind` (a ledger entry's cause)
and :class:`GrantKind` (a bonus grant's origin).
"""

from __future__ import annotations

from enum import StrEnum


class OrderKind(StrEnum):
    """What a refunded order is."""

    SUBSCRIPTION = "subscription"
    TOPUP = "topup"


class RefundScope(StrEnum):
    """``Refund.kind``: the whole order, or a part of it (scenario history only)."""

    FULL = "full"
    PARTIAL = "partial"


class RefundStatus(StrEnum):
    """A refund's life: Refunding, then one of the three terminal statuses."""

    REFUNDING = "refunding"
    REFUNDED = "refunded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self is not RefundStatus.REFUNDING


class Attention(StrEnum):
    """``Refund.attention``: why support must look at a refund (its status cannot say)."""

    # the provider paid a refund we hold as Canceled or Failed (effects reversed)
    PAID_AFTER_CLOSE = "paid_after_close"
    # still Refunding after too many provider inquiries or too long (RETRIES_EXCEEDED)
    STUCK = "stuck"
    # the provider needs someone to act before it can pay (Stripe's requires_action)
    REQUIRES_ACTION = "requires_action"
    # was PAID_AFTER_CLOSE; support checked with the provider and found nothing was paid
    # (a stale "succeeded" delivered after "failed"): the order is refundable again
    NOT_PAID = "not_paid"


class RequestStatus(StrEnum):
    """An e-mail refund request, as support decides it."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class RewardStatus(StrEnum):
    """A referrer's reward for a top-up: pending until the order's window closes."""

    PENDING = "pending"
    GRANTED = "granted"
    REVOKED = "revoked"


class RefundSource(StrEnum):
    """Who asked for a refund."""

    SELF = "self"  # the customer, in the dialog
    EMAIL = "email"  # an e-mail request support approved
    SUPPORT = "support"  # support (a retry of a Failed refund)
    SCENARIO = "scenario"  # history loaded with a scenario; never sent to a provider


class GrantKind(StrEnum):
    """``Grant.kind``: where bonus credits came from."""

    DISCOUNT = "discount"  # with a top-up order; forfeited when the order is refunded
    GIFT = "gift"
    REFERRAL = "referral"
    INSURANCE = "insurance"


class LedgerKind(StrEnum):
    """``LedgerEntry.kind``: why a wallet bucket moved."""

    TOPUP = "topup"
    DISCOUNT = "discount"
    GIFT = "gift"
    REFERRAL = "referral"
    INSURANCE = "insurance"
    ADJUSTMENT = "adjustment"
    USAGE = "usage"
    REFUND = "refund"
    REFUND_REVERSAL = "refund_reversal"
    FORFEIT = "forfeit"
    FORFEIT_REVERSAL = "forfeit_reversal"
    CLAWBACK = "clawback"
    CLAWBACK_REVERSAL = "clawback_reversal"

    @property
    def reversal(self) -> LedgerKind | None:
        """The kind that undoes an entry of this kind when its refund ends Failed or
        Canceled (None: entries of this kind are never reversed)."""
        return _REVERSALS.get(self)


_REVERSALS = {LedgerKind.REFUND: LedgerKind.REFUND_REVERSAL,
              LedgerKind.FORFEIT: LedgerKind.FORFEIT_REVERSAL,
              LedgerKind.CLAWBACK: LedgerKind.CLAWBACK_REVERSAL}
