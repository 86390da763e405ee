"""Fixtures of the integration tests that talk to a Stripe emulator (localstripe)."""

from __future__ import annotations

import pytest
import stripe

from tests.support import localstripe as support
from zenmux_refunds import config

SECRET = "whsec_test"
API_KEY = "sk_test_x"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    binary = support.binary()
    if binary is None:
        pytest.skip("localstripe is not installed: set ZENMUX_LOCALSTRIPE or run scripts/test")
    server = support.LocalStripe(binary, tmp_path_factory.mktemp("localstripe") / "log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_client(localstripe) -> stripe.StripeClient:
    """The test's own client, standing in for Stripe's dashboard and checkout."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url},
                               max_network_retries=0)


@pytest.fixture
def use_stripe(example_db, localstripe, monkeypatch):
    """Stripe configured against localstripe; call it with another base to move it."""

    def point(base: str = localstripe.url) -> None:
        monkeypatch.setenv("STRIPE_API_BASE", base)
        config.settings.cache_clear()

    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_SEND_REASON", "0")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    # the reconciler asks about every refund still Refunding at each pass
    monkeypatch.setenv("ZENMUX_RECONCILE_AFTER_SECONDS", "0")
    point()
    yield point
    config.settings.cache_clear()


@pytest.fixture
def proxy(localstripe):
    server = support.FaultProxy(localstripe.url).start()
    yield server
    server.stop()


@pytest.fixture
def settles_at_once(monkeypatch):
    """The Sandbox settles a refund at its first submission (no 20-second wait)."""
    monkeypatch.setenv("ZENMUX_SANDBOX_SETTLE_SECONDS", "0")
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()
