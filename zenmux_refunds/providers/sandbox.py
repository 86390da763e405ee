"""The Sandbox provider (default when no provider keys are set).

It accepts every refund at once as pending and settles it ``delay`` seconds (wall clock)
after the first submission: Failed when the order says so (``sandbox_outcome`` from a
scenario, or set by support), Refunded otherwise. It keeps no state of its own: the
answer follows from the request, so any process can be asked.
"""

from __future__ import annotations

from datetime import timedelta

from zenmux_refunds.clock import real_now
from zenmux_refunds.providers.base import Outcome, ProviderResult, RefundRequest


class SandboxProvider:
    name = "sandbox"
    polled = True
    paid_by_hand = False

    def __init__(self, delay_seconds: int):
        self.delay = timedelta(seconds=delay_seconds)

    def _refund_id(self, request: RefundRequest) -> str:
        return f"sbx_{request.idempotency_key}"

    def submit(self, request: RefundRequest) -> ProviderResult:
        return self.inquire(request)

    def inquire(self, request: RefundRequest) -> ProviderResult:
        started = request.submitted_at or real_now()
        if real_now() - started < self.delay:
            return ProviderResult(Outcome.PENDING, self._refund_id(request), "sandbox: pending")
        if request.sandbox_outcome == "fail":
            return ProviderResult(Outcome.FAILED, self._refund_id(request),
                                  "sandbox: told to fail this order")
        return ProviderResult(Outcome.SUCCEEDED, self._refund_id(request), "sandbox: settled")
