"""The support console's reads and actions. Every function takes the acting account's
id and checks the support role in the database first, whatever the caller is."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.config import settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.models import (
    Account,
    Refund,
    RefundEvent,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.providers import Outcome, provider_for
from zenmux_refunds.services import billing, refunds, sandbox_control
from zenmux_refunds.services.requests import require_support

STATUSES = ("all", "refunding", "refunded", "failed", "canceled")


def list_refunds(actor_id: int, *, status: str = "all", page: int = 1,
                 page_size: int = 20) -> billing.Page:
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
    if status != "all":
        query = query.where(Refund.status == status)
        counter = counter.where(Refund.status == status)
    with db.reading() as s:
        total = s.exec(counter).one()
        rows = s.exec(query.order_by(Refund.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    views = []
    for refund, email, sub_ref, top_ref, sub_channel, top_channel in rows:
        channel = sub_channel or top_channel
        views.append({
            "id": refund.id, "ref": refund.ref, "account": email, "order": sub_ref or top_ref,
            "final": billing.refund_amount(refund), "status": policy.STATUS_WORDS[refund.status].label,
            "color": billing.STATUS_COLORS[refund.status], "source": refund.source,
            "requested": money.format_instant(refund.requested_at),
            "can_retry": refund.status == "failed",
            "can_cancel": refund.status == "refunding" and refund.submitted_at is None,
            "can_pay_out": (refund.status == "refunding"
                            and provider_for(channel).name == "manual"),
        })
    return billing.Page(views, total, page, page_size)


def audit_trail(actor_id: int, refund_id: int) -> list[dict]:
    require_support(actor_id)
    with db.reading() as s:
        events = s.exec(select(RefundEvent).where(RefundEvent.refund_id == refund_id)
                        .order_by(RefundEvent.id)).all()
    return [{
        "at": money.format_instant(e.at), "actor": e.actor, "action": e.action,
        "change": f"{e.from_status or '—'} → {e.to_status}" if e.to_status else "",
        "detail": _detail(e.detail),
    } for e in events]


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
    with db.reading() as s:
        failed = s.get(Refund, refund_id)
    if failed is None or failed.status != "failed":
        raise refunds.RefundRefused("Only a Failed refund can be retried.")
    approved = refunds.approve_on_behalf(
        actor=actor.email, account_id=failed.account_id, kind=failed.order_kind,
        order_id=failed.subscription_payment_id or failed.topup_order_id,
        window_at=failed.requested_at, source="support")
    refunds.note(approved.refund_id, actor.email, "retry_of", f"retry of {failed.ref}")
    refunds.send(approved.refund_id)
    return approved.refund_ref


def cancel(actor_id: int, refund_id: int) -> str:
    actor = require_support(actor_id)
    return refunds.cancel(refund_id, actor=actor.email)


def record_payout(actor_id: int, refund_id: int) -> str:
    """Support paid a manual-channel refund out by hand: it ends Refunded."""
    actor = require_support(actor_id)
    with db.reading() as s:
        refund = s.get(Refund, refund_id)
        order = (s.get(TopupOrder, refund.topup_order_id) if refund and refund.topup_order_id
                 else s.get(SubscriptionPayment, refund.subscription_payment_id) if refund
                 else None)
    if refund is None or refund.status != "refunding" or provider_for(order.channel).name != "manual":
        raise refunds.RefundRefused("Only a Refunding refund of a manual channel is paid out by hand.")
    return refunds.finish(refund_id, Outcome.SUCCEEDED, actor=actor.email,
                          detail="paid out manually by support")


def set_sandbox_outcome(actor_id: int, order_ref: str, outcome: str) -> str:
    """Demo mode only: tell the Sandbox provider how to settle an order's refunds."""
    if not settings().demo_mode:
        raise PermissionError("The Sandbox controls are only available in demo mode.")
    require_support(actor_id)
    return sandbox_control.set_outcome(order_ref.strip(), outcome)
