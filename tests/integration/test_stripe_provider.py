"""The Stripe provider and its webhooks against localstripe (a stateful Stripe emulator),
with the real ``stripe`` SDK and a real database (SQLite, and PostgreSQL when configured).

What localstripe cannot do is covered the way ENGINEERING.md says: it ignores
idempotency keys (so we check that no path refunds twice by listing the PaymentIntent's
refunds), it never produces pending or failed refunds and sends no refund events (so the
tests sign refund events themselves with the endpoint secret, the way Stripe does), it
rejects ``reason`` (STRIPE_SEND_REASON=0 here) and has no Prices API (subscriptions are
made from a Plan, which real Stripe accepts too). Timeouts and 5xx come from a small
fault-injecting proxy in front of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import stripe
from sqlmodel import select

from tests.integration._helpers import (
    account_by_ref as _account,
)
from tests.integration._helpers import (
    approve_by_ref as _approve,
)
from tests.integration._helpers import (
    assert_ledger_balances as _assert_ledger_balances,
)
from tests.integration._helpers import (
    refund_actions,
    refund_events,
    refund_row,
)
from tests.support import localstripe as support
from zenmux_refunds import config, db
from zenmux_refunds.models import (
    Account,
    CurrentPlan,
    Refund,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.providers import Outcome
from zenmux_refunds.providers.stripe_provider import StripeProvider
from zenmux_refunds.services import ledger, provider_events, refunds

_BINARY = support.binary()
if _BINARY is None:
    pytest.skip("localstripe is not installed: set ZENMUX_LOCALSTRIPE or run scripts/test "
                f"(which installs it into {support.DEFAULT_BINARY.parent.parent})",
                allow_module_level=True)

from tests.integration.conftest import API_KEY, SECRET  # noqa: E402

# ------------------------------------------------------------------ helpers






def _pay(client: stripe.StripeClient, amount: int, currency: str = "usd") -> str:
    """A customer pays ``amount`` by card; the PaymentIntent's id."""
    customer = client.v1.customers.create({"email": f"{uuid.uuid4().hex[:8]}@example.com"})
    intent = client.v1.payment_intents.create({
        "amount": amount, "currency": currency, "customer": customer.id,
        "payment_method": "pm_card_visa", "confirm": True})
    assert intent.status == "succeeded"
    return intent.id


def _subscribe(client: stripe.StripeClient, amount: int) -> tuple[str, str]:
    """A customer subscribes to a monthly plan; (PaymentIntent id, subscription id)."""
    customer = client.v1.customers.create({"email": f"{uuid.uuid4().hex[:8]}@example.com"})
    card = client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    client.v1.payment_methods.attach(card.id, {"customer": customer.id})
    client.v1.customers.update(customer.id,
                               {"invoice_settings": {"default_payment_method": card.id}})
    product = client.v1.products.create({"name": "Builder Pro"})
    plan = client.v1.plans.create({"product": product.id, "amount": amount, "currency": "usd",
                                   "interval": "month"})
    sub = client.v1.subscriptions.create({"customer": customer.id,
                                          "items": [{"plan": plan.id}]})
    assert sub.status == "active"
    invoice = client.v1.invoices.retrieve(sub.to_dict()["latest_invoice"]).to_dict()
    assert invoice["status"] == "paid"
    return invoice["payment_intent"], sub.id


def _point_order(order_ref: str, payment_intent: str, subscription: str | None = None) -> None:
    """The scenario's order was paid with these Stripe objects."""
    with db.transaction() as s:
        order = s.exec(select(TopupOrder).where(TopupOrder.ref == order_ref)).first()
        if order is None:
            order = s.exec(select(SubscriptionPayment)
                           .where(SubscriptionPayment.ref == order_ref)).one()
            order.provider_subscription_id = subscription
        assert order.channel == "stripe"
        order.provider_payment_id = payment_intent
        s.add(order)


def _stripe_refunds(client: stripe.StripeClient, payment_intent: str) -> list[dict]:
    listed = client.v1.refunds.list({"payment_intent": payment_intent, "limit": 100})
    return [r.to_dict() for r in listed.auto_paging_iter()]


def _request(refund_id: int):
    with db.reading() as s:
        return refunds._request(s, s.get(Refund, refund_id))


def _balances(*refs: str) -> dict[str, ledger.Balances]:
    with db.reading() as s:
        return {ref: ledger.balances(s, _account(ref).id) for ref in refs}




def _sign(payload: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header, computed the way Stripe does."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _event(event_type: str, obj: dict, event_id: str | None = None) -> bytes:
    return json.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event",
        "api_version": "2025-09-30.clover", "created": int(time.time()), "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "type": event_type, "data": {"object": obj},
    }).encode()


def _deliver(event_type: str, obj: dict, event_id: str | None = None) -> tuple[int, dict]:
    body = _event(event_type, obj, event_id)
    return provider_events.stripe_webhook(body, _sign(body))


def _with_status(stripe_refund: dict, status: str) -> dict:
    changed = dict(stripe_refund, status=status)
    if status == "failed":
        changed["failure_reason"] = "lost_or_stolen_card"
    return changed


@pytest.fixture
def paul_refunding(use_stripe, stripe_client):
    """paul's TOP-3001 ($50.00 by card) approved and refunded at Stripe, but our send
    never recorded it (as if the process died right after the call): the refund is
    Refunding and Stripe holds one refund naming it. Returns (approved, stripe refund,
    balances before the approval)."""
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    before = _balances("paul", "rita")
    approved = _approve("paul", "TOP-3001")
    result = StripeProvider(config.settings()).submit(_request(approved.refund_id))
    assert result.outcome == Outcome.SUCCEEDED
    [stripe_refund] = _stripe_refunds(stripe_client, pi)
    assert refund_row(approved.refund_id).status == "refunding"
    return approved, stripe_refund, before


# ------------------------------------------------------------------ provider


def test_topup_refund_creates_exactly_one_stripe_refund(use_stripe, stripe_client):
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    approved = _approve("paul", "TOP-3001")
    final = approved.quote.final_charged_minor
    assert 0 < final < 5000

    assert refunds.send(approved.refund_id) == "refunded"

    [stripe_refund] = _stripe_refunds(stripe_client, pi)
    assert stripe_refund["amount"] == final
    assert stripe_refund["status"] == "succeeded"
    assert stripe_refund["metadata"] == {"zenmux_refund_id": str(approved.refund_id),
                                         "zenmux_refund_ref": approved.refund_ref}
    refund = refund_row(approved.refund_id)
    assert refund.provider_refund_id == stripe_refund["id"]
    assert refund.final_minor == final
    assert refund_actions(approved.refund_id)[-2:] == ["sent", "refunded"]

    # asking again, by every path, finds the same refund and makes no second one
    assert refunds.send(approved.refund_id) == "refunded"
    provider = StripeProvider(config.settings())
    for ask in (provider.inquire, provider.submit):
        again = ask(_request(approved.refund_id))
        assert (again.outcome, again.provider_refund_id) == (Outcome.SUCCEEDED,
                                                             stripe_refund["id"])
    refunds.process_refunding()
    assert len(_stripe_refunds(stripe_client, pi)) == 1
    _assert_ledger_balances()


def test_send_after_a_crash_past_the_call_reuses_the_stripe_refund(paul_refunding,
                                                                   stripe_client):
    approved, stripe_refund, _before = paul_refunding
    assert refunds.send(approved.refund_id) == "refunded"
    assert refund_row(approved.refund_id).provider_refund_id == stripe_refund["id"]
    pi = stripe_refund["payment_intent"]
    assert [r["id"] for r in _stripe_refunds(stripe_client, pi)] == [stripe_refund["id"]]
    [sent] = [e for e in refund_events(approved.refund_id) if e.action == "sent"]
    assert "(found)" in sent.detail


def test_reconciler_creates_the_refund_a_crash_before_the_call_left_unsent(use_stripe,
                                                                          stripe_client):
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    approved = _approve("paul", "TOP-3001")
    with db.transaction() as s:  # send() committed its submission, then the process died
        refund = s.get(Refund, approved.refund_id)
        refund.submitted_at = refund.requested_at
        s.add(refund)
    assert _stripe_refunds(stripe_client, pi) == []

    assert refunds.process_refunding() == 1
    assert refund_row(approved.refund_id).status == "refunded"
    assert refunds.process_refunding() == 0
    [stripe_refund] = _stripe_refunds(stripe_client, pi)
    assert stripe_refund["amount"] == approved.quote.final_charged_minor
    assert "inquired" in refund_actions(approved.refund_id)


def test_subscription_refund_cancels_the_stripe_subscription(use_stripe, stripe_client):
    pi, sub = _subscribe(stripe_client, 2000)
    _point_order("SUB-1002", pi, sub)
    approved = _approve("alice", "SUB-1002")
    assert approved.quote.final_charged_minor == 1571

    assert refunds.send(approved.refund_id) == "refunded"

    assert stripe_client.v1.subscriptions.retrieve(sub).status == "canceled"
    [stripe_refund] = _stripe_refunds(stripe_client, pi)
    assert stripe_refund["amount"] == 1571
    sent = json.loads(refund_events(approved.refund_id)[-2].detail)
    assert f"subscription {sub} canceled" in sent["detail"]
    # asking again is fine although the subscription is already canceled
    again = StripeProvider(config.settings()).inquire(_request(approved.refund_id))
    assert again.outcome == Outcome.SUCCEEDED
    assert f"subscription {sub} already canceled" in again.detail
    assert len(_stripe_refunds(stripe_client, pi)) == 1
    with db.reading() as s:
        assert s.get(CurrentPlan, _account("alice").id).plan == "Free"


def test_unknown_payment_intent_fails_the_refund_and_reverses_it(use_stripe):
    _point_order("TOP-3001", "pi_doesnotexist000")
    before = _balances("paul", "rita")
    approved = _approve("paul", "TOP-3001")
    assert _balances("paul", "rita") != before

    assert refunds.send(approved.refund_id) == "failed"

    assert _balances("paul", "rita") == before
    failed = [e for e in refund_events(approved.refund_id) if e.action == "failed"]
    assert len(failed) == 1 and "HTTP 404" in failed[0].detail
    _assert_ledger_balances()


def test_send_reason_setting_reaches_stripe(use_stripe, stripe_client, monkeypatch):
    """localstripe rejects ``reason`` (real Stripe accepts it): with
    STRIPE_SEND_REASON on, the parameter is sent — and localstripe's 400 is a Failed."""
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    monkeypatch.setenv("STRIPE_SEND_REASON", "1")
    config.settings.cache_clear()
    approved = _approve("paul", "TOP-3001")
    assert refunds.send(approved.refund_id) == "failed"
    assert _stripe_refunds(stripe_client, pi) == []
    [failed] = [e for e in refund_events(approved.refund_id) if e.action == "failed"]
    assert "reason" in failed.detail and "HTTP 400" in failed.detail


# ------------------------------------------------------------------ faults


def test_timeout_leaves_refunding_and_the_reconciler_finishes_once(use_stripe, stripe_client,
                                                                   proxy, monkeypatch):
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    approved = _approve("paul", "TOP-3001")
    monkeypatch.setenv("ZENMUX_PROVIDER_TIMEOUT_SECONDS", "1")
    proxy.fail("*", "/", "hang")  # accepts, never answers
    use_stripe(proxy.url)

    started = time.monotonic()
    assert refunds.send(approved.refund_id) == "refunding"
    assert time.monotonic() - started < 8
    assert proxy.seen, "the request went to the hanging server"
    refund = refund_row(approved.refund_id)
    assert refund.status == "refunding" and refund.submitted_at is not None
    [error] = [e for e in refund_events(approved.refund_id) if e.action == "provider_error"]
    assert "APIConnectionError" in error.detail and API_KEY not in error.detail
    assert _stripe_refunds(stripe_client, pi) == []

    use_stripe()  # back at localstripe
    assert refunds.process_refunding() == 1
    assert refund_row(approved.refund_id).status == "refunded"
    [stripe_refund] = _stripe_refunds(stripe_client, pi)
    assert stripe_refund["amount"] == approved.quote.final_charged_minor


@pytest.mark.parametrize("fault", ["forward_then_hang", 503, 429])
def test_refund_call_lost_or_refused_is_retried_without_refunding_twice(
        use_stripe, stripe_client, proxy, monkeypatch, fault):
    """``forward_then_hang``: Stripe made the refund but the answer never came back."""
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    approved = _approve("paul", "TOP-3001")
    monkeypatch.setenv("ZENMUX_PROVIDER_TIMEOUT_SECONDS", "1")
    proxy.fail("POST", "/v1/refunds", fault)
    use_stripe(proxy.url)

    assert refunds.send(approved.refund_id) == "refunding"
    assert "provider_error" in refund_actions(approved.refund_id)
    posts = [p for m, p in proxy.seen if m == "POST" and p.startswith("/v1/refunds")]
    assert len(posts) == 1
    if fault == "forward_then_hang":
        # Stripe made the refund: the next pass finds it by its metadata, creates nothing
        assert len(_stripe_refunds(stripe_client, pi)) == 1
        assert refunds.process_refunding() == 1
    else:
        assert _stripe_refunds(stripe_client, pi) == []
        refunds.process_refunding()  # still refused: nothing changes, nothing is made
        assert refund_row(approved.refund_id).status == "refunding"
        assert _stripe_refunds(stripe_client, pi) == []
        assert refund_actions(approved.refund_id).count("provider_error") == 2
        proxy.clear()
        assert refunds.process_refunding() == 1
    assert refund_row(approved.refund_id).status == "refunded"
    assert len(_stripe_refunds(stripe_client, pi)) == 1
    posts = [p for m, p in proxy.seen if m == "POST" and p.startswith("/v1/refunds")]
    assert len(posts) == (1 if fault == "forward_then_hang" else 3)


def test_subscription_cancel_failure_is_retried(use_stripe, stripe_client, proxy):
    pi, sub = _subscribe(stripe_client, 2000)
    _point_order("SUB-1002", pi, sub)
    approved = _approve("alice", "SUB-1002")
    proxy.fail("DELETE", "/v1/subscriptions/", 503)
    use_stripe(proxy.url)

    assert refunds.send(approved.refund_id) == "refunding"
    assert len(_stripe_refunds(stripe_client, pi)) == 1
    assert stripe_client.v1.subscriptions.retrieve(sub).status == "active"

    proxy.clear()
    assert refunds.process_refunding() == 1
    assert refund_row(approved.refund_id).status == "refunded"
    assert stripe_client.v1.subscriptions.retrieve(sub).status == "canceled"
    assert len(_stripe_refunds(stripe_client, pi)) == 1


# ------------------------------------------------------------------ webhooks


def test_signed_webhook_marks_refunded(paul_refunding):
    approved, stripe_refund, before = paul_refunding
    debited = _balances("paul", "rita")
    approval_trail = refund_actions(approved.refund_id)
    assert not {"sent", "refunded", "failed", "ignored"} & set(approval_trail)

    assert _deliver("refund.created", _with_status(stripe_refund, "pending")) \
        == (200, {"received": True})
    assert refund_row(approved.refund_id).status == "refunding"
    assert refund_actions(approved.refund_id) == approval_trail  # pending: nothing written

    assert _deliver("refund.updated", stripe_refund) == (200, {"received": True})
    refund = refund_row(approved.refund_id)
    assert refund.status == "refunded"
    assert refund.provider_refund_id == stripe_refund["id"]
    [done] = [e for e in refund_events(approved.refund_id) if e.action == "refunded"]
    assert done.actor == "provider:stripe" and done.detail.startswith("webhook refund.updated")
    assert _balances("paul", "rita") == debited != before
    _assert_ledger_balances()


def _state(refund_id: int):
    refund = refund_row(refund_id)
    return (refund.status, refund.provider_refund_id, refund.settled_at,
            len(refund_events(refund_id)), _balances("paul", "rita"))


@pytest.mark.parametrize("case", ["forged", "stale", "unsigned", "empty", "garbage",
                                  "v0_only", "tampered", "not_json", "not_an_object"])
def test_bad_webhooks_are_refused_and_change_nothing(paul_refunding, case):
    approved, stripe_refund, _before = paul_refunding
    before = _state(approved.refund_id)
    body = _event("refund.updated", stripe_refund)
    now = int(time.time())
    header = {
        "forged": _sign(body, secret="whsec_not_ours"),
        "stale": _sign(body, at=now - 301),
        "unsigned": None,
        "empty": "",
        "garbage": "not a signature",
        "v0_only": _sign(body).replace("v1=", "v0="),
    }.get(case)
    if case == "tampered":
        header = _sign(body)
        body = _event("refund.updated", _with_status(stripe_refund, "failed"))
    elif case == "not_json":
        body = b"refund succeeded, trust me"
        header = _sign(body)
    elif case == "not_an_object":
        body = b"[1, 2, 3]"
        header = _sign(body)

    status, answer = provider_events.stripe_webhook(body, header)

    assert status == 400 and "error" in answer
    assert _state(approved.refund_id) == before


def test_the_same_event_five_times_changes_the_status_once(paul_refunding):
    approved, stripe_refund, _before = paul_refunding
    body = _event("refund.updated", stripe_refund, "evt_repeated")
    header = _sign(body)
    rows = len(refund_events(approved.refund_id))

    for _ in range(5):
        assert provider_events.stripe_webhook(body, header) == (200, {"received": True})

    actions = refund_actions(approved.refund_id)
    assert actions.count("refunded") == 1
    assert len(actions) == rows + 1  # the one status change, nothing else
    assert refund_row(approved.refund_id).status == "refunded"
    _assert_ledger_balances()


@pytest.mark.parametrize("sequence,final", [
    ([("refund.failed", "failed"), ("refund.updated", "succeeded")], "failed"),
    ([("refund.updated", "succeeded"), ("refund.failed", "failed")], "failed"),
    ([("refund.created", "pending"), ("refund.updated", "succeeded"),
      ("refund.updated", "pending")], "refunded"),
    ([("charge.refund.updated", "canceled"), ("refund.updated", "pending"),
      ("refund.updated", "succeeded")], "failed"),
])
def test_out_of_order_webhooks_end_in_one_correct_state(paul_refunding, sequence, final):
    approved, stripe_refund, before = paul_refunding
    debited = _balances("paul", "rita")

    for event_type, status in sequence:
        assert _deliver(event_type, _with_status(stripe_refund, status))[0] == 200

    assert refund_row(approved.refund_id).status == final
    actions = refund_actions(approved.refund_id)
    if final == "refunded":
        assert (actions.count("refunded"), actions.count("failed")) == (1, 0)
        assert _balances("paul", "rita") == debited
    else:
        assert actions.count("failed") == 1
        assert actions.count("effects_reversed") == 1
        assert _balances("paul", "rita") == before  # reversed exactly once
    _assert_ledger_balances()


def test_succeeded_refund_that_later_fails_reverses_the_wallet_debit(use_stripe,
                                                                     stripe_client):
    pi = _pay(stripe_client, 5000)
    _point_order("TOP-3001", pi)
    before = _balances("paul", "rita")
    approved = _approve("paul", "TOP-3001")
    debited = _balances("paul", "rita")
    gross_micros = approved.quote.refundable_cents * 10_000
    assert before["paul"].topup_micros - debited["paul"].topup_micros == gross_micros
    assert refunds.send(approved.refund_id) == "refunded"
    [stripe_refund] = _stripe_refunds(stripe_client, pi)

    status = _deliver("charge.refund.updated", _with_status(stripe_refund, "failed"))

    assert status == (200, {"received": True})
    assert refund_row(approved.refund_id).status == "failed"
    after = _balances("paul", "rita")
    assert after["paul"].topup_micros - debited["paul"].topup_micros == gross_micros
    assert after == before
    actions = refund_actions(approved.refund_id)
    assert actions.count("refunded") == 1 and actions.count("failed") == 1
    # a repeated failure changes nothing more
    _deliver("refund.failed", _with_status(stripe_refund, "failed"))
    assert _balances("paul", "rita") == before
    assert refund_actions(approved.refund_id) == actions
    _assert_ledger_balances()


@pytest.mark.parametrize("carries_refunds", [True, False])
def test_charge_refunded_event(paul_refunding, stripe_client, carries_refunds):
    """charge.refunded carries a charge; newer API versions leave out its refunds, which
    are then listed from Stripe."""
    approved, stripe_refund, _before = paul_refunding
    charge = stripe_client.v1.charges.retrieve(stripe_refund["charge"]).to_dict()
    if carries_refunds:
        charge["refunds"] = {"object": "list", "data": [stripe_refund], "has_more": False}
    else:
        charge.pop("refunds", None)

    assert _deliver("charge.refunded", charge) == (200, {"received": True})
    assert refund_row(approved.refund_id).status == "refunded"


@pytest.mark.parametrize("case", ["no_metadata", "unknown_id", "wrong_ref",
                                  "other_stripe_refund", "other_type"])
def test_events_not_about_our_refunds_are_ignored(paul_refunding, case):
    approved, stripe_refund, _before = paul_refunding
    if case == "other_stripe_refund":  # we recorded another Stripe refund for it
        with db.transaction() as s:
            refund = s.get(Refund, approved.refund_id)
            refund.provider_refund_id = "re_recordedelsewhere"
            s.add(refund)
    before = _state(approved.refund_id)
    meta = dict(stripe_refund["metadata"])
    obj = dict(stripe_refund)
    event_type = "refund.updated"
    if case == "no_metadata":
        obj["metadata"] = {}
    elif case == "unknown_id":
        obj["metadata"] = dict(meta, zenmux_refund_id="999999")
    elif case == "wrong_ref":  # another environment's refund with the same id
        obj["metadata"] = dict(meta, zenmux_refund_ref="RF-ELSEWHERE")
    elif case == "other_type":
        event_type = "customer.created"

    status, answer = _deliver(event_type, obj)

    assert status == 200 and "ignored" in answer
    assert _state(approved.refund_id) == before


def test_requires_action_goes_to_needs_attention_with_the_action_shown(paul_refunding):
    """Stripe's refund ``requires_action`` (the customer must give bank details) keeps
    the refund Refunding and flags it for support with the next_action; the later
    ``succeeded`` ends it Refunded and closes the flag."""
    from zenmux_refunds.services import console

    approved, stripe_refund, _before = paul_refunding
    waiting = dict(stripe_refund, status="requires_action", next_action={
        "type": "display_details",
        "display_details": {"email_sent": {"email_sent_at": 1795000000,
                                           "email_sent_to": "paul@example.com"},
                            "expires_at": 1795600000}})
    assert _deliver("refund.updated", waiting) == (200, {"received": True})
    refund = refund_row(approved.refund_id)
    assert (refund.status, refund.attention, refund.attention_resolved_at) == (
        "refunding", "requires_action", None)
    [flag] = [e for e in refund_events(approved.refund_id) if e.action == "needs_attention"]
    detail = json.loads(flag.detail)
    assert detail["attention"] == "requires_action"
    assert detail["action"].startswith("Stripe next_action: display_details")
    assert "paul@example.com" in detail["action"] and "expires 2026-11-25 09:46 UTC" in detail["action"]
    with db.reading() as s:
        sam = s.exec(select(Account).where(Account.ref == "sam")).one().id
    [row] = [r for r in console.list_refunds(sam, status="needs_attention").rows
             if r.ref == approved.refund_ref]
    # a repeated delivery flags nothing twice
    assert _deliver("refund.updated", waiting) == (200, {"received": True})
    assert [e.action for e in refund_events(approved.refund_id)].count("needs_attention") == 1

    assert _deliver("refund.updated", stripe_refund) == (200, {"received": True})
    refund = refund_row(approved.refund_id)
    assert refund.status == "refunded" and refund.attention_resolved_at is not None
    assert refund_actions(approved.refund_id)[-1] == "attention_resolved"
    assert not [r for r in console.list_refunds(sam, status="needs_attention").rows
                if r.ref == approved.refund_ref]

