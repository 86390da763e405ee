"""The Stripe provider (SPEC §4), over the official ``stripe`` SDK.

A refund is made against the order's PaymentIntent for ``amount_minor``, with metadata
naming our refund and our idempotency key. Before creating one we always list the
PaymentIntent's refunds and reuse the one whose metadata names our refund: Stripe keeps
idempotency keys for 24 hours only, and ``localstripe`` (the emulator the tests run
against) ignores them, so the lookup is what guarantees that no path refunds twice.
``inquire`` is the same lookup; when it finds nothing (a crash between our commit and the
call) it creates the refund.

A subscription refund also cancels the Stripe subscription at once (an already canceled
subscription is fine), unless the refund failed.

Errors: network errors, timeouts, 5xx, 429, 409, authentication/permission errors (a
configuration that can be fixed) and unreadable answers raise ``ProviderError`` — the
reconciler asks again later, unchanged. A 4xx request error that can never succeed
(no such PaymentIntent, a refused parameter, an already refunded charge) is a Failed
result with Stripe's message as the detail.

Settings: ``STRIPE_API_KEY``, ``STRIPE_API_BASE`` (localstripe in tests),
``STRIPE_SEND_REASON`` (``reason=requested_by_customer``; localstripe rejects the
parameter, so tests turn it off), ``ZENMUX_PROVIDER_TIMEOUT_SECONDS``. The SDK's own
network retries are off: a retry is our reconciler's job, and it looks up first.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any

import stripe

from zenmux_refunds.config import Settings
from zenmux_refunds.providers.base import Outcome, ProviderError, ProviderResult, RefundRequest

log = logging.getLogger(__name__)

META_ID = "zenmux_refund_id"
META_REF = "zenmux_refund_ref"

_OUTCOMES = {
    "succeeded": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "canceled": Outcome.FAILED,
    "pending": Outcome.PENDING,
    "requires_action": Outcome.REQUIRES_ACTION,
}


def outcome_of(status: str | None) -> Outcome:
    """Our outcome for a Stripe refund status (anything unknown is still pending)."""
    return _OUTCOMES.get(status or "", Outcome.PENDING)


def next_action_text(refund: Mapping[str, Any]) -> str:
    """What a ``requires_action`` refund waits for, as support reads it: the
    ``next_action`` type and, for ``display_details``, to whom Stripe e-mailed the
    request for details and when that request expires (UTC)."""
    action = refund.get("next_action")
    if not isinstance(action, Mapping):
        return "Stripe needs an action before it can pay this refund (no next_action given)"
    kind = str(action.get("type") or "unknown")
    parts = [f"Stripe next_action: {kind}"]
    details = action.get("display_details")
    if isinstance(details, Mapping):
        sent = details.get("email_sent")
        if isinstance(sent, Mapping) and sent.get("email_sent_to"):
            parts.append(f"Stripe e-mailed {sent.get('email_sent_to')} for the details "
                         f"at {_utc(sent.get('email_sent_at'))}")
        if details.get("expires_at"):
            parts.append(f"expires {_utc(details.get('expires_at'))}")
    return "; ".join(parts)


def _utc(epoch: Any) -> str:
    if not isinstance(epoch, int) or isinstance(epoch, bool):
        return "?"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def names_our_refund(metadata: Mapping[str, Any] | None, refund_id: int, refund_ref: str) -> bool:
    meta = metadata or {}
    return meta.get(META_ID) == str(refund_id) and meta.get(META_REF) == refund_ref


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, timeout: int) -> stripe.StripeClient:
    """One client (and its HTTP connection pool) per configuration."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=timeout),
        max_network_retries=0,
    )


class StripeProvider:
    name = "stripe"
    polled = False
    paid_by_hand = False

    def __init__(self, cfg: Settings):
        self._key = cfg.stripe_api_key
        self._send_reason = cfg.stripe_send_reason
        self._client = _client(cfg.stripe_api_key, cfg.stripe_api_base,
                               cfg.provider_timeout_seconds)

    # ------------------------------------------------------------------ protocol

    def submit(self, request: RefundRequest) -> ProviderResult:
        return self._refund(request)

    def inquire(self, request: RefundRequest) -> ProviderResult:
        return self._refund(request)

    # ------------------------------------------------------------------ helpers

    def refunds_of_charge(self, charge_id: str) -> list[dict]:
        """The refunds of a charge as plain dicts (for webhooks whose charge carries none)."""
        listed = self._call("list refunds of the charge",
                            lambda: self._list({"charge": charge_id}))
        if isinstance(listed, ProviderResult):
            raise ProviderError(listed.detail)
        return listed

    def _list(self, params: dict) -> list[dict]:
        """All refunds matching ``params`` (every page), as plain dicts."""
        listed = self._client.v1.refunds.list({**params, "limit": 100})
        return [r.to_dict() for r in listed.auto_paging_iter()]

    def _refund(self, request: RefundRequest) -> ProviderResult:
        if not request.provider_payment_id:
            return ProviderResult(Outcome.FAILED, None,
                                  "stripe: the order has no Stripe PaymentIntent id")
        if request.amount_minor <= 0:
            result = ProviderResult(Outcome.SUCCEEDED, None,
                                    "stripe: nothing to refund (amount 0)")
        else:
            found = self._find(request)
            if isinstance(found, ProviderResult):
                return found
            refund = found if found is not None else self._create(request)
            if isinstance(refund, ProviderResult):
                return refund
            result = self._result(refund, request, reused=found is not None)
        if (result.outcome != Outcome.FAILED and request.order_kind == "subscription"
                and request.provider_subscription_id):
            note = self._cancel_subscription(request.provider_subscription_id)
            result = ProviderResult(result.outcome, result.provider_refund_id,
                                    f"{result.detail}; {note}", result.action)
        return result

    def _find(self, request: RefundRequest):
        """Our refund of the PaymentIntent (None if there is none yet)."""
        pi = request.provider_payment_id
        listed = self._call("list refunds", lambda: self._list({"payment_intent": pi}))
        if isinstance(listed, ProviderResult):
            return listed
        ours = [r for r in listed
                if names_our_refund(r.get("metadata"), request.refund_id, request.refund_ref)]
        if not ours:
            return None
        if len(ours) > 1:
            log.warning("stripe: %d refunds of %s name refund %s: %s", len(ours), pi,
                        request.refund_ref, [r["id"] for r in ours])
        # a succeeded one wins, then one still under way, then the rest
        rank = {Outcome.SUCCEEDED: 0, Outcome.PENDING: 1, Outcome.REQUIRES_ACTION: 1,
                Outcome.FAILED: 2}
        return min(ours, key=lambda r: rank[outcome_of(r.get("status"))])

    def _create(self, request: RefundRequest):
        params: dict[str, Any] = {
            "payment_intent": request.provider_payment_id,
            "amount": request.amount_minor,
            "metadata": {META_ID: str(request.refund_id), META_REF: request.refund_ref},
        }
        if self._send_reason:
            params["reason"] = "requested_by_customer"
        created = self._call("create refund", lambda: self._client.v1.refunds.create(
            params, {"idempotency_key": request.idempotency_key}))
        return created if isinstance(created, ProviderResult) else created.to_dict()

    def _result(self, refund: dict, request: RefundRequest, *, reused: bool) -> ProviderResult:
        status = refund.get("status")
        detail = f"stripe: refund {refund['id']} {status}{' (found)' if reused else ''}"
        amount = refund.get("amount")
        if amount is not None and amount != request.amount_minor:
            detail += f"; amount {amount} != ours {request.amount_minor}"
        if refund.get("failure_reason"):
            detail += f"; failure_reason {refund.get('failure_reason')}"
        outcome = outcome_of(status)
        action = next_action_text(refund) if outcome == Outcome.REQUIRES_ACTION else ""
        return ProviderResult(outcome, refund["id"], detail, action)

    def _cancel_subscription(self, sub_id: str) -> str:
        subs = self._client.v1.subscriptions
        current = self._call("retrieve subscription", lambda: subs.retrieve(sub_id))
        if isinstance(current, ProviderResult):  # e.g. no such subscription: nothing to stop
            log.warning("stripe: cannot cancel subscription %s: %s", sub_id, current.detail)
            return f"subscription {sub_id} not canceled ({current.detail})"
        if getattr(current, "status", None) in ("canceled", "incomplete_expired"):
            return f"subscription {sub_id} already canceled"
        canceled = self._call("cancel subscription", lambda: subs.cancel(sub_id))
        if isinstance(canceled, ProviderResult):
            # canceled in between (e.g. from the dashboard)?
            again = self._call("retrieve subscription", lambda: subs.retrieve(sub_id))
            if (not isinstance(again, ProviderResult)
                    and getattr(again, "status", None) == "canceled"):
                return f"subscription {sub_id} already canceled"
            log.warning("stripe: cannot cancel subscription %s: %s", sub_id, canceled.detail)
            return f"subscription {sub_id} not canceled ({canceled.detail})"
        return f"subscription {sub_id} canceled"

    def _call(self, what: str, fn):
        """Run one SDK call. Returns its value, or a Failed ProviderResult for a request
        error that can never succeed; raises ProviderError for everything worth retrying."""
        try:
            return fn()
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            status = exc.http_status or 0
            if 400 <= status < 500 and status not in (401, 403, 409, 429):
                return ProviderResult(Outcome.FAILED, None, self._describe(what, exc))
            raise ProviderError(self._describe(what, exc)) from None
        except stripe.StripeError as exc:
            # APIConnectionError (network, timeout), APIError (5xx, unreadable answer),
            # RateLimitError, AuthenticationError, PermissionError, IdempotencyError, ...
            raise ProviderError(self._describe(what, exc)) from None

    def _describe(self, what: str, exc: stripe.StripeError) -> str:
        message = (exc.user_message or str(exc) or "").strip().splitlines()
        text = " ".join(line.strip() for line in message if line.strip())[:300]
        code = f" {exc.code}" if getattr(exc, "code", None) else ""
        status = f" HTTP {exc.http_status}" if exc.http_status else ""
        out = f"stripe: {what}: {type(exc).__name__}{status}{code}: {text}"
        return out.replace(self._key, "***") if self._key else out
