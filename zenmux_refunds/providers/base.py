"""The one interface every payment provider implements.

A provider is asked to refund (``submit``) and asked what became of a refund
(``inquire``). Both are keyed by our refund's idempotency key, so asking twice can never
refund twice. Nothing above this package knows which provider is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    # still pending, and the provider needs a person to act before it can pay (Stripe's
    # ``requires_action``, e.g. the customer must give bank details): support is told
    REQUIRES_ACTION = "requires_action"

    @property
    def final(self) -> bool:
        return self in (Outcome.SUCCEEDED, Outcome.FAILED)


@dataclass(frozen=True)
class RefundRequest:
    """What a provider needs to refund one order (plain values, no database rows)."""

    refund_id: int
    refund_ref: str
    idempotency_key: str
    order_kind: str  # subscription | topup
    order_ref: str
    channel: str  # stripe | antom | (manual channels never reach a provider)
    provider_payment_id: str | None
    provider_subscription_id: str | None
    currency: str
    amount_minor: int
    sandbox_outcome: str  # succeed | fail (Sandbox only)
    submitted_at: datetime | None  # wall-clock time of the first submission


@dataclass(frozen=True)
class ProviderResult:
    outcome: Outcome
    provider_refund_id: str | None = None
    detail: str = ""
    # REQUIRES_ACTION: what the provider asks for, as support should read it
    action: str = ""


@dataclass(frozen=True)
class Verdict:
    """What a verified provider notification says about one refund: decoded, not
    applied. Providers never look refunds up; the services do, by whichever key the
    notification carries (our refund's id and ref, or our idempotency key)."""

    outcome: Outcome
    detail: str
    provider_refund_id: str | None = None
    refund_id: int | None = None
    refund_ref: str | None = None
    idempotency_key: str | None = None
    action: str = ""


class ProviderError(RuntimeError):
    """The provider could not be asked (timeout, 5xx): try again later, unchanged."""


class Provider(Protocol):
    """A payment provider, and what the code above may ask about it (its capabilities),
    instead of asking for its name."""

    name: str
    # Verdicts come only by asking: the reconciler asks at every pass (no webhooks).
    polled: bool
    # Nothing can be sent: support pays the refund out by hand and records it.
    paid_by_hand: bool

    def submit(self, request: RefundRequest) -> ProviderResult: ...

    def inquire(self, request: RefundRequest) -> ProviderResult: ...
