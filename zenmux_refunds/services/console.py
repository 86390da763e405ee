"""The support console's reads and actions. Every function takes the acting account's
id and checks the support role in the database first, whatever the caller is."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.config import settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.vocabulary import Attention, OrderKind, RefundStatus
from zenmux_refunds.models import (
    Account,
    Refund,
    RefundEvent,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.providers import provider_for
from zenmux_refunds.services import billing, quotes, refunds, requests, sandbox_control
from zenmux_refunds.services.requests import require_support
from zenmux_refunds.services.views import ActionCheck, AuditLine, ConsoleRefundRow, Page

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
        detail=_sentence(e.action, e.detail),
    ) for e in events]


def _usd(cents) -> str:
    return money.format_usd(int(cents or 0))


def _usd_micros(micros) -> str:
    return money.format_usd_micros(int(micros or 0))


def _returned(data: dict) -> str:
    """"$15.71", or "CNY 677.08 ($94.04)" when the order was charged in CNY (an audit
    detail written before the charged currency was recorded reads as USD only)."""
    cents = int(data.get("settled_final_cents", data.get("final_cents")) or 0)
    currency = data.get("currency")
    if not currency or data.get("final_minor") is None:
        return money.format_usd(cents)
    return money.format_returned(cents, currency, int(data["final_minor"]))


def _sentence(action: str, text: str) -> str:
    """An audit event's detail as support reads it: a sentence with formatted amounts
    ("Refundable $16.54, fee $0.83, returned $15.71"), not ``fee_cents=83``."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
    if not isinstance(data, dict):
        return text
    if action == "approved":
        said = (f"Refundable {_usd(data.get('gross_cents'))}, fee {_usd(data.get('fee_cents'))}"
                f", returned {_returned(data)}; usage counted {_usd(data.get('usage_cents'))}")
        preview = data.get("preview_final_cents")
        if preview is not None and preview != data.get("settled_final_cents"):
            said += f"; the customer confirmed {_usd(preview)} (usage moved since)"
        return said
    if action == "bonus_forfeited":
        return (f"Discount bonus {_usd_micros(data.get('discount_micros'))}: "
                f"{_usd_micros(data.get('forfeited_micros'))} forfeited")
    if action == "referral_revoked":
        return (f"Referral reward revoked (it was {data.get('was')}); clawed back "
                f"{_usd_micros(data.get('clawed_back_micros'))} from the referrer")
    if action in ("sent", "inquired"):
        said = f"The provider answered {data.get('outcome')}"
        if data.get("provider_refund_id"):
            said += f" (refund {data['provider_refund_id']})"
        return f"{said}: {data['detail']}" if data.get("detail") else said
    if action == "effects_reversed":
        said = f"Effects reversed: {data.get('ledger_entries', 0)} ledger entries given back"
        return said + ("; the referral reward restored" if data.get("reward_restored") else "")
    if action == "needs_attention":
        return _attention_sentence(data)
    if action == "attention_resolved":
        said = f"Resolved: {data.get('note', '')}"
        if data.get("provider_paid") is False:
            said += " — the provider did not pay (a stale notice); the order is refundable again"
        return said
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if v not in (None, ""))


def _attention_sentence(data: dict) -> str:
    kind = data.get("attention")
    if kind == Attention.PAID_AFTER_CLOSE:
        said = ("The provider reports it paid after the refund had ended; the ledger is "
                "unchanged, support decides")
        if data.get("provider_refund_id"):
            said += f" (provider refund {data['provider_refund_id']})"
        return f"{said}: {data['provider_detail']}" if data.get("provider_detail") else said
    if kind == Attention.STUCK:
        return (f"Stuck: still Refunding after {data.get('inquiries', 0)} inquiries since it "
                f"was sent at {data.get('sent_at')} (limits: {data.get('limits')})")
    if kind == Attention.REQUIRES_ACTION:
        return f"The provider needs an action before it can pay: {data.get('action')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if v not in (None, ""))


# ------------------------------------------------------------------ confirmations

ACTIONS = ("approve", "deny", "cancel", "payout", "retry")


def check(actor_id: int, action: str, target_id: int) -> ActionCheck:
    """What support confirms before ``action`` on a refund (cancel, payout, retry) or
    an e-mail request (approve, deny): the customer, the order and the amounts. The
    action itself re-checks everything under its lock; this is what support reads."""
    require_support(actor_id)
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if action in ("approve", "deny"):
        return requests.check_decision(int(target_id), action)
    with db.reading() as s:
        refund = s.get(Refund, int(target_id))
        if refund is None:
            raise LookupError("No such refund.")
        account = s.get(Account, refund.account_id)
        order = s.get(SubscriptionPayment if refund.order_kind == OrderKind.SUBSCRIPTION
                      else TopupOrder, refund.subscription_payment_id or refund.topup_order_id)
        customer = f"{account.name} ({account.email})"
        order_text = (f"{order.ref} · {money.format_usd(order.amount_cents)} · "
                      f"{billing.method_label(order.channel)}")
        if action == "retry":
            return _retry_check(s, refund, account, order, customer, order_text)
    lines = [("Refundable", _usd(refund.gross_cents)), ("Platform fee", _usd(refund.fee_cents)),
             ("Amount returned", billing.refund_amount(refund))]
    if action == "cancel":
        return ActionCheck(
            action, refund.id, f"Cancel {refund.ref}?", customer, order_text, lines,
            "The refund was never sent: canceling gives back everything its approval did "
            "(the wallet debit, forfeited bonus, referral reward, plan).",
            "Cancel the refund", False)
    return ActionCheck(
        action, refund.id, f"Record the payout of {refund.ref}?", customer, order_text, lines,
        "Only once the money has gone out by hand: the refund ends Refunded.",
        "Record payout", False)


def _retry_check(s, refund: Refund, account: Account, order, customer: str,
                 order_text: str) -> ActionCheck:
    view = quotes.quote_order(s, account, refund.order_kind, order.id, refund.requested_at,
                              via_support=True)
    q = view.decision.quote
    lines = [("Refundable now", _usd(q.refundable_cents)),
             (f"Platform fee ({q.fee_percent}%)", _usd(q.fee_cents)),
             ("Amount returned", _returned({"final_cents": q.final_cents,
                                            "currency": q.charged_currency,
                                            "final_minor": q.final_charged_minor}))]
    note = ("A new refund of the order, quoted again with the latest usage; its window is "
            "judged when the customer first asked. It is sent to the provider at once.")
    if not view.decision.eligible:
        note = f"It will be refused: {view.decision.reason.value}."
    return ActionCheck("retry", refund.id, f"Retry {refund.ref}?", customer, order_text,
                       lines, note, "Retry the refund", False)


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
