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


class ProviderError(RuntimeError):
    """The provider could not be asked (timeout, 5xx): try again later, unchanged."""


class Provider(Protocol):
    name: str

    def submit(self, request: RefundRequest) -> ProviderResult: ...

    def inquire(self, request: RefundRequest) -> ProviderResult: ...
