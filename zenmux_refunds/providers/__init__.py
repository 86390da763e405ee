"""Payment providers behind one interface; configuration chooses the implementation.

Stripe serves the ``stripe`` channel when ``STRIPE_API_KEY`` is set, Antom the ``antom``
channel when ``ANTOM_CLIENT_ID`` and ``ANTOM_PRIVATE_KEY`` are set; otherwise the
Sandbox provider serves the channel. Other channels are paid out by hand (Manual).
"""

from __future__ import annotations

from zenmux_refunds.config import settings
from zenmux_refunds.providers.base import (
    Outcome,
    Provider,
    ProviderError,
    ProviderResult,
    RefundRequest,
    Verdict,
)
from zenmux_refunds.domain.policy import ONLINE_CHANNELS
from zenmux_refunds.providers.manual import ManualProvider
from zenmux_refunds.providers.sandbox import SandboxProvider

__all__ = ["Outcome", "Provider", "ProviderError", "ProviderResult", "RefundRequest",
           "Verdict", "provider_for"]


def provider_for(channel: str) -> Provider:
    """The provider that refunds payments made through ``channel``."""
    cfg = settings()
    if channel == "stripe" and cfg.stripe_enabled:
        from zenmux_refunds.providers.stripe_provider import StripeProvider

        return StripeProvider(cfg)
    if channel == "antom" and cfg.antom_enabled:
        from zenmux_refunds.providers.antom import AntomProvider

        return AntomProvider(cfg)
    if channel not in ONLINE_CHANNELS:
        return ManualProvider()
    return SandboxProvider(cfg.sandbox_settle_seconds)
