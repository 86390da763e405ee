"""Stripe webhooks about refunds (SPEC §4): verified and decoded, never applied here.

``decode(raw_body, signature_header)`` verifies the event with
``stripe.Webhook.construct_event`` on the raw body and ``STRIPE_WEBHOOK_SECRET``
(default tolerance: 300 s). A missing, forged or stale signature, or a body that is not
an event, is answered 400 and yields nothing.

Handled: ``refund.created``, ``refund.updated``, ``refund.failed``,
``charge.refund.updated`` (their object is a refund) and ``charge.refunded`` (its object
is a charge; its ``refunds.data`` when the payload carries them, otherwise — newer API
versions no longer include them — the charge's refunds as listed from Stripe). A Stripe
refund may be ours when its metadata names one of our refunds by id *and* ref: each
becomes a :class:`Verdict` (succeeded → SUCCEEDED; failed / canceled → FAILED;
requires_action → REQUIRES_ACTION with its ``next_action``; pending → PENDING).
``services.provider_events`` looks each one up, checks it really is ours (so another
environment sharing the Stripe account cannot touch ours) and applies it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import stripe

from zenmux_refunds.config import settings
from zenmux_refunds.providers.base import Outcome, ProviderError, Verdict
from zenmux_refunds.providers.stripe_provider import (
    META_ID,
    META_REF,
    next_action_text,
    outcome_of,
)

log = logging.getLogger(__name__)

REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
CHARGE_EVENTS = {"charge.refunded"}
ACTOR = "provider:stripe"


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery, decoded: the HTTP answer when nothing is to be applied,
    else the verdicts it carries about refunds that name one of ours."""

    status: int
    answer: dict
    verdicts: tuple[Verdict, ...] = ()
    event: str = ""  # "<type> <id>", for the audit trail and the log


def decode(raw_body: bytes, signature_header: str | None) -> Delivery:
    """Verify one webhook delivery and decode the verdicts it carries."""
    cfg = settings()
    if not cfg.stripe_webhook_secret:
        log.error("stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(raw_body, signature_header, cfg.stripe_webhook_secret)
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", str(exc).splitlines()[0][:200])
        return Delivery(400, {"error": "invalid signature"})
    except (ValueError, TypeError, AttributeError, KeyError,  # not UTF-8 / JSON / an event
            RecursionError):  # nested too deeply to parse
        return Delivery(400, {"error": "invalid payload"})
    try:
        event = json.loads(raw_body)
    except (ValueError, RecursionError):
        return Delivery(400, {"error": "invalid payload"})
    if not isinstance(event, dict):
        return Delivery(400, {"error": "invalid payload"})

    event_type, event_id = str(event.get("type") or ""), str(event.get("id") or "")
    if event_type not in REFUND_EVENTS | CHARGE_EVENTS:
        return Delivery(200, {"ignored": f"event type {event_type or '?'}"})
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return Delivery(400, {"error": "invalid payload: no data.object"})

    try:
        stripe_refunds = _refunds_in(obj, cfg)
    except ProviderError as exc:  # Stripe will deliver again; the reconciler also asks
        log.warning("stripe webhook %s %s: cannot list the charge's refunds: %s",
                    event_type, event_id, exc)
        return Delivery(503, {"error": "cannot look up the charge's refunds now"})

    verdicts = []
    for stripe_refund in stripe_refunds:
        named = _named_refund(stripe_refund)
        if named is None:
            continue
        outcome = outcome_of(stripe_refund.get("status"))
        verdicts.append(Verdict(
            outcome=outcome, detail=f"webhook {event_type} {event_id}",
            provider_refund_id=stripe_refund.get("id"), refund_id=named[0],
            refund_ref=named[1],
            action=next_action_text(stripe_refund) if outcome == Outcome.REQUIRES_ACTION
            else ""))
    if not verdicts:
        return Delivery(200, {"ignored": "no refund of ours in this event"})
    return Delivery(200, {"received": True}, tuple(verdicts), f"{event_type} {event_id}")


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


def _named_refund(stripe_refund: dict) -> tuple[int, str] | None:
    """(our refund's id, its ref) when the Stripe refund's metadata names one of ours
    in a form ours can take, else None (whether it exists is the services' question)."""
    meta = stripe_refund.get("metadata")
    if not isinstance(meta, dict):
        return None
    raw_id, ref = meta.get(META_ID), meta.get(META_REF)
    # ASCII digits only ("²".isdigit() is true), and few enough to fit the database's
    # 64-bit ids: anything else is not one of ours.
    if not isinstance(raw_id, str) or not (raw_id.isascii() and raw_id.isdigit()) \
            or len(raw_id) > 18 or not isinstance(ref, str) or len(ref) > 64:
        return None
    return int(raw_id), ref
