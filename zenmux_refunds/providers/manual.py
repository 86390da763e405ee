"""Channels no provider can refund (bank transfer, …): support pays out by hand.

The refund stays in Refunding until support records the payout (a verdict through
``services.refunds.finish``); asking this provider never changes anything.
"""

from __future__ import annotations

from zenmux_refunds.providers.base import Outcome, ProviderResult, RefundRequest


class ManualProvider:
    name = "manual"
    polled = False
    paid_by_hand = True

    def submit(self, request: RefundRequest) -> ProviderResult:
        return ProviderResult(Outcome.PENDING, None, "awaiting a manual payout by support")

    def inquire(self, request: RefundRequest) -> ProviderResult:
        return self.submit(request)
