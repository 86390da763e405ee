"""What providers tell us without being asked (webhooks, notifications), applied.

The flow is one way: the endpoint hands the raw delivery here, the provider's module
verifies and decodes it into verdicts (``providers.stripe_webhooks.decode``,
``providers.antom.decode_notification``) and knows nothing of our tables; this module
looks each verdict's refund up, checks that it really is ours, and applies it through
``services.refunds`` (which locks, re-checks and writes the audit trail). Repeated or
out-of-order deliveries are safe because ``refunds.finish`` is: a verdict equal to the
current status writes nothing; one it cannot apply writes one "ignored" note.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.models import Refund
from zenmux_refunds.providers import Outcome, Verdict, antom, stripe_webhooks
from zenmux_refunds.services import refunds

log = logging.getLogger(__name__)


def _find(verdict: Verdict) -> int | None:
    """Our refund the verdict is about, or None when it is none of ours.

    A verdict names our refund by id and ref (both must match: another environment
    sharing the provider account cannot touch ours) or by our idempotency key. A
    verdict about a provider refund other than the one we recorded for it is not about
    our refund either."""
    with db.reading() as s:
        if verdict.refund_id is not None:
            refund = s.get(Refund, verdict.refund_id)
            if refund is None or refund.ref != verdict.refund_ref:
                return None
        elif verdict.idempotency_key:
            refund = s.exec(select(Refund)
                            .where(Refund.idempotency_key == verdict.idempotency_key)).first()
            if refund is None:
                return None
        else:
            return None
        recorded = refund.provider_refund_id
        refund_id = refund.id
    given = verdict.provider_refund_id
    if recorded and given and recorded != given:
        log.warning("provider refund %s names our refund %s, which is recorded as %s; "
                    "ignored", given, refund_id, recorded)
        return None
    return refund_id


def apply(verdict: Verdict, *, actor: str) -> str | None:
    """Apply one decoded verdict to our refund; return its status after it ("pending"
    when the provider is still at work; None when the verdict is about no refund of
    ours)."""
    refund_id = _find(verdict)
    if refund_id is None:
        return None
    if verdict.outcome.final:
        return refunds.finish(refund_id, verdict.outcome, actor=actor, detail=verdict.detail,
                              provider_refund_id=verdict.provider_refund_id)
    if verdict.outcome == Outcome.REQUIRES_ACTION:
        return refunds.requires_action(refund_id, actor=actor, detail=verdict.detail,
                                       action=verdict.action,
                                       provider_refund_id=verdict.provider_refund_id)
    return str(verdict.outcome)  # still under way at the provider: nothing to apply


def stripe_webhook(raw_body: bytes, signature_header: str | None) -> tuple[int, dict]:
    """One Stripe webhook delivery; return (HTTP status, JSON answer)."""
    delivery = stripe_webhooks.decode(raw_body, signature_header)
    ours = 0
    for verdict in delivery.verdicts:
        status = apply(verdict, actor=stripe_webhooks.ACTOR)
        if status is None:
            continue
        ours += 1
        log.info("stripe webhook %s: refund %s %s -> %s", delivery.event, verdict.refund_id,
                 verdict.outcome, status)
    if delivery.verdicts and not ours:
        return 200, {"ignored": "no refund of ours in this event"}
    return delivery.status, delivery.answer


def antom_notification(headers: Mapping[str, str], raw_body: bytes, *,
                       path: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One Antom ``notifyRefund``; return (HTTP status, headers, body)."""
    note = antom.decode_notification(headers, raw_body, path=path)
    if note.verdict is not None:
        try:
            if apply(note.verdict, actor="provider:antom") is None:
                # not one of ours (e.g. refunded in Antom's dashboard): acknowledge it
                log.warning("Antom notifyRefund for unknown refundRequestId %r",
                            note.verdict.idempotency_key)
        except Exception:  # noqa: BLE001 - Antom sends it again if we do not acknowledge
            log.exception("applying Antom notifyRefund %r failed",
                          note.verdict.idempotency_key)
            return antom.not_applied()
    return note.status, note.headers, note.body
