"""Payment providers behind one interface; configuration chooses the implementation."""

from __future__ import annotations

from zenmux_refunds.config import settings
from zenmux_refunds.providers.base import (
    Outcome,
    Provider,
    ProviderError,
    ProviderResult,
    RefundRequest,
)
from zenmux_refunds.providers.sandbox import SandboxProvider

__all__ = ["Outcome", "Provider", "ProviderError", "ProviderResult", "RefundRequest",
           "provider_for"]


def provider_for(channel: str) -> Provider:
    """The provider that refunds payments made through ``channel``.

    Until real provider keys are configured every online channel is served by the
    Sandbox provider.
    """
    return SandboxProvider(settings().sandbox_settle_seconds)
