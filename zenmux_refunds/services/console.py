"""The support console's reads and actions. Every function takes the acting account's
id and checks the support role in the database first, whatever the caller is."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.config import settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.vocabulary import Attention, RefundStatus
from zenmux_refunds.models import (
    Account,
    Refund,
    RefundEvent,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.providers import provider_for
from zenmux_refunds.services import billing, refunds, sandbox_control
from zenmux_refunds.services.requests import require_support
from zenmux_refunds.services.views import AuditLine, ConsoleRefundRow, Page

NEEDS_ATTENTION = policy.NEEDS_ATTENTION
# the console's filter: the refund statuses, and the refunds that need attention (a
# Canceled or Failed refund the provider paid after all, not yet resolved by support)
STATUSES = ("all", NEEDS_ATTENTION, RefundStatus.REFUNDING, RefundStatus.REFUNDED,
            RefundStatus.FAILED, RefundStatus.CANCELED)
_OPEN_ATTENTION = sa.and_(Refund.attention.is_not(None), Refund.attention_resolved_at.is_(None))


def list_refunds(actor_id: int, *, status: str = "all", page: int = 1,
                 page_size: int = 20) -> Page[ConsoleRefundRow]:
    require_support(actor_id)
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    page, page_size = billing.page_bounds(page, page_size)
    query = (select(Refund, Account.email, SubscriptionPayment.ref, TopupOrder.ref,
                    SubscriptionPayment.channel, TopupOrder.channel)
             .join(Account, Account.id == Refund.account_id)
             .outerjoin(SubscriptionPayment, SubscriptionPayment.id == Refund.subscription_payment_id)
             .outerjoin(TopupOrder, TopupOrder.id == Refund.topup_order_id))
    counter = select(sa.func.count()).select_from(Refund)
    if status == NEEDS_ATTENTION:
        query, counter = query.where(_OPEN_ATTENTION), counter.where(_OPEN_ATTENTION)
    elif status != "all":
        query = query.where(Refund.status == status)
        counter = counter.where(Refund.status == status)
    with db.reading() as s:
        total = s.exec(counter).one()
        rows = s.exec(query.order_by(Refund.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    views = []
    for refund, email, sub_ref, top_ref, sub_channel, top_channel in rows:
        channel = sub_channel or top_channel
        attention = billing.needs_attention(refund)
        label = policy.STATUS_WORDS[refund.status].label
        views.append(ConsoleRefundRow(
            id=refund.id, ref=refund.ref, account=email, order=sub_ref or top_ref,
            final=billing.refund_amount(refund),
            status=f"Needs attention ({label})" if attention else label,
            color=billing.STATUS_COLORS[NEEDS_ATTENTION if attention else refund.status],
            source=refund.source,
            requested=money.format_instant(refund.requested_at),
            needs_attention=attention,
            can_retry=refund.status == RefundStatus.FAILED and refund.attention != Attention.PAID_AFTER_CLOSE,
            can_cancel=refund.status == RefundStatus.REFUNDING and refund.submitted_at is None,
            can_pay_out=(refund.status == RefundStatus.REFUNDING
                         and provider_for(channel).paid_by_hand),
        ))
    return Page(views, total, page, page_size)


def audit_trail(actor_id: int, refund_id: int) -> list[AuditLine]:
    require_support(actor_id)
    with db.reading() as s:
        events = s.exec(select(RefundEvent).where(RefundEvent.refund_id == refund_id)
                        .order_by(RefundEvent.id)).all()
    return [AuditLine(
        at=money.format_instant(e.at), actor=e.actor, action=e.action,
        change=f"{e.from_status or '—'} → {e.to_status}" if e.to_status else "",
        detail=_detail(e.detail),
    ) for e in events]


def _detail(text: str) -> str:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
    if isinstance(data, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if v not in (None, ""))
    return text


def retry(actor_id: int, refund_id: int) -> str:
    """Retry a Failed refund: a new approval of the same order, its window judged at
    the failed refund's request (the customer asked in time); return the new ref."""
    actor = require_support(actor_id)
    return refunds.retry(refund_id, actor=actor.email, dispatch=refunds.send_now).refund_ref


def cancel(actor_id: int, refund_id: int) -> str:
    actor = require_support(actor_id)
    return refunds.cancel(refund_id, actor=actor.email)


def record_payout(actor_id: int, refund_id: int) -> str:
    """Support paid a manual-channel refund out by hand: it ends Refunded."""
    actor = require_support(actor_id)
    try:
        return refunds.record_payout(refund_id, actor=actor.email)
    except LookupError:
        raise refunds.RefundRefused(
            "Only a Refunding refund of a manual channel is paid out by hand.") from None


# what support found in the provider's records of a refund flagged paid_after_close
FINDINGS = {"paid": True, "not_paid": False}


def resolve_attention(actor_id: int, refund_id: int, note: str, finding: str = "paid") -> str:
    """Support has dealt with a refund that needs attention: mark it resolved, with a
    note of what was done for the audit trail. ``finding`` (for a refund the provider
    reported paid after we closed it): "paid", or "not_paid" when the provider's own
    records show nothing went out (a stale notification) — the order is then
    refundable again."""
    actor = require_support(actor_id)
    if finding not in FINDINGS:
        raise refunds.RefundRefused("Say what the provider's records show: paid or not paid.")
    return refunds.resolve_attention(refund_id, actor=actor.email, note_text=str(note),
                                     provider_paid=FINDINGS[finding])


def set_sandbox_outcome(actor_id: int, order_ref: str, outcome: str) -> str:
    """Demo mode only: tell the Sandbox provider how to settle an order's refunds."""
    if not settings().demo_mode:
        raise PermissionError("The Sandbox controls are only available in demo mode.")
    require_support(actor_id)
    return sandbox_control.set_outcome(order_ref.strip(), outcome)
