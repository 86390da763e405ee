"""Stripe webhooks about refunds (SPEC §4).

``handle(raw_body, signature_header)`` verifies the event with
``stripe.Webhook.construct_event`` on the raw body and ``STRIPE_WEBHOOK_SECRET``
(default tolerance: 300 s). A missing, forged or stale signature, or a body that is not
an event, is answered 400 and changes nothing.

Handled: ``refund.created``, ``refund.updated``, ``refund.failed``,
``charge.refund.updated`` (their object is a refund) and ``charge.refunded`` (its object
is a charge; its ``refunds.data`` when the payload carries them, otherwise — newer API
versions no longer include them — the charge's refunds as listed from Stripe). A refund
is ours when its metadata names one of our refunds by id *and* ref (so another
environment sharing the Stripe account cannot touch ours). Terminal statuses are applied
with ``services.refunds.finish``: succeeded → Refunded; failed / canceled → Failed, which
also covers a refund that had succeeded and fails later (its effects are reversed).
Pending statuses change nothing.

Repeated or out-of-order deliveries are safe because ``finish`` is: a verdict equal to
the current status writes nothing; a verdict it cannot apply writes one "ignored" note.
This module writes no audit rows of its own.
"""

from __future__ import annotations

import json
import logging

import stripe

from zenmux_refunds import db
from zenmux_refunds.config import settings
from zenmux_refunds.models import Refund
from zenmux_refunds.providers.base import Outcome, ProviderError
from zenmux_refunds.providers.stripe_provider import META_ID, META_REF, outcome_of
from zenmux_refunds.services import refunds

log = logging.getLogger(__name__)

REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
CHARGE_EVENTS = {"charge.refunded"}
ACTOR = "provider:stripe"


def handle(raw_body: bytes, signature_header: str | None) -> tuple[int, dict]:
    """Verify and apply one webhook delivery; return (HTTP status, JSON answer)."""
    cfg = settings()
    if not cfg.stripe_webhook_secret:
        log.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(raw_body, signature_header, cfg.stripe_webhook_secret)
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", str(exc).splitlines()[0][:200])
        return 400, {"error": "invalid signature"}
    except (ValueError, TypeError, AttributeError, KeyError,  # not UTF-8 / JSON / an event
            RecursionError):  # nested too deeply to parse
        return 400, {"error": "invalid payload"}
    try:
        event = json.loads(raw_body)
    except (ValueError, RecursionError):
        return 400, {"error": "invalid payload"}
    if not isinstance(event, dict):
        return 400, {"error": "invalid payload"}

    event_type, event_id = str(event.get("type") or ""), str(event.get("id") or "")
    if event_type not in REFUND_EVENTS | CHARGE_EVENTS:
        return 200, {"ignored": f"event type {event_type or '?'}"}
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return 400, {"error": "invalid payload: no data.object"}

    try:
        stripe_refunds = _refunds_in(obj, cfg)
    except ProviderError as exc:  # Stripe will deliver again; the reconciler also asks
        log.warning("stripe webhook %s %s: cannot list the charge's refunds: %s",
                    event_type, event_id, exc)
        return 503, {"error": "cannot look up the charge's refunds now"}

    ours = 0
    for stripe_refund in stripe_refunds:
        refund_id = _our_refund_id(stripe_refund)
        if refund_id is None:
            continue
        ours += 1
        outcome = outcome_of(stripe_refund.get("status"))
        if outcome == Outcome.PENDING:
            continue
        status = refunds.finish(refund_id, outcome, actor=ACTOR,
                                detail=f"webhook {event_type} {event_id}",
                                provider_refund_id=stripe_refund.get("id"))
        log.info("stripe webhook %s %s: refund %s %s -> %s", event_type, event_id,
                 refund_id, stripe_refund.get("status"), status)
    if not ours:
        return 200, {"ignored": "no refund of ours in this event"}
    return 200, {"received": True}


def _refunds_in(obj: dict, cfg) -> list[dict]:
    """The refund objects an event's ``data.object`` carries (or, for a charge that
    carries none or only some, the charge's refunds as Stripe lists them now)."""
    kind = obj.get("object")
    if kind == "refund":
        return [obj]
    if kind != "charge":
        return []
    listed = obj.get("refunds")
    if isinstance(listed, dict) and isinstance(listed.get("data"), list) \
            and not listed.get("has_more"):
        return [r for r in listed["data"] if isinstance(r, dict)]
    if not cfg.stripe_enabled or not obj.get("id"):
        return []
    from zenmux_refunds.providers.stripe_provider import StripeProvider

    return StripeProvider(cfg).refunds_of_charge(str(obj["id"]))


def _our_refund_id(stripe_refund: dict) -> int | None:
    """Our refund's id when the Stripe refund's metadata names one of ours, else None."""
    meta = stripe_refund.get("metadata")
    if not isinstance(meta, dict):
        return None
    raw_id, ref = meta.get(META_ID), meta.get(META_REF)
    # ASCII digits only ("²".isdigit() is true), and few enough to fit the database's
    # 64-bit ids: anything else is not one of ours.
    if not isinstance(raw_id, str) or not (raw_id.isascii() and raw_id.isdigit()) \
            or len(raw_id) > 18 or not isinstance(ref, str) or len(ref) > 64:
        return None
    with db.reading() as s:
        refund = s.get(Refund, int(raw_id))
        if refund is None or refund.ref != ref:
            return None
        recorded = refund.provider_refund_id
    if recorded and recorded.startswith("re_") and recorded != stripe_refund.get("id"):
        log.warning("stripe webhook: Stripe refund %s names our refund %s, which is "
                    "recorded as %s; ignored", stripe_refund.get("id"), ref, recorded)
        return None
    return int(raw_id)
