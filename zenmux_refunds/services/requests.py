"""E-mail refund requests (Option 3): a customer files one, support approves or denies.

The request names a purchase by its date and time (``YYYY-MM-DD HH:mm``, UTC) and
amount; it is matched to the account's order paid in that minute for that amount.
The 24-hour rule counts at the instant the request was submitted; the amount is
settled with the usage at approval, through the same approval service as the
dialog (online channels through their provider, other channels paid out by hand).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.domain import money, policy
from zenmux_refunds.models import Account, EmailRequest, SubscriptionPayment, TopupOrder
from zenmux_refunds.services import auth, billing, ledger, quotes, refunds

SUPPORT_EMAIL = "support@zenmux.ai"
REVIEW_BUSINESS_DAYS = 7
MAX_REASON = 2000
_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


class RequestError(ValueError):
    """A request the form must refuse; ``field`` names the input."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(f"{field}: {problem}")


def parse_purchase_time(text: str) -> datetime:
    raw = (text or "").strip()
    if not _MINUTE.match(raw):
        raise RequestError("Purchase date and time",
                           "use the format YYYY-MM-DD HH:mm, e.g. 2026-11-26 10:00 (UTC)")
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    except ValueError:
        raise RequestError("Purchase date and time", f"{raw} is not a real date and time") from None


def review_due(submitted_at: datetime) -> datetime:
    """7 business days after submission, at the same time of day."""
    day = policy.add_business_days(submitted_at.date(), REVIEW_BUSINESS_DAYS)
    return datetime.combine(day, time(submitted_at.hour, submitted_at.minute),
                            tzinfo=timezone.utc)


def _match_order(s: Session, account_id: int, at: datetime, amount_cents: int):
    end = at + timedelta(minutes=1)
    for kind, model in ((quotes.TOPUP, TopupOrder), (quotes.SUBSCRIPTION, SubscriptionPayment)):
        found = s.exec(select(model).where(model.account_id == account_id,
                                           model.paid_at >= at, model.paid_at < end,
                                           model.amount_cents == amount_cents)
                       .order_by(model.id)).first()
        if found is not None:
            return kind, found
    return None, None


@dataclass(frozen=True)
class Filed:
    ref: str
    review_due_at: datetime
    matched_order: str | None


def file_request(account_id: int, *, contact: str, purchase_at: str, amount: str,
                 unused_balance: str, reason: str) -> Filed:
    """Record a customer's e-mail request; RequestError (nothing recorded) if invalid."""
    contact = (contact or "").strip()
    reason = (reason or "").strip()
    at = parse_purchase_time(purchase_at)
    try:
        amount_cents = money.parse_money((amount or "").strip().lstrip("$").replace(",", ""),
                                         places=2, field="Amount")
    except money.MoneyError:
        raise RequestError("Amount", "enter the amount paid in USD, e.g. 10.00") from None
    if amount_cents <= 0:
        raise RequestError("Amount", "must be greater than zero")
    if not reason:
        raise RequestError("Reason", "tell us why you are asking for a refund")
    if len(reason) > MAX_REASON:
        raise RequestError("Reason", f"at most {MAX_REASON} characters")
    with db.transaction() as s:
        account = s.get(Account, account_id)
        if contact.lower() not in (account.email, account.ref.lower()):
            raise RequestError("Account email / ID",
                               "must be the e-mail or ID of the account you are signed in to")
        now = clock.now(s)
        if at > now:
            raise RequestError("Purchase date and time", "is in the future")
        kind, order = _match_order(s, account.id, at, amount_cents)
        row = EmailRequest(
            ref=f"REQ-{secrets.token_hex(3).upper()}", account_id=account.id, contact=contact,
            purchase_at=at, amount_cents=amount_cents,
            unused_balance=(unused_balance or "").strip()[:64], reason=reason,
            submitted_at=now, review_due_at=review_due(now), order_kind=kind,
            subscription_payment_id=order.id if kind == quotes.SUBSCRIPTION else None,
            topup_order_id=order.id if kind == quotes.TOPUP else None,
        )
        s.add(row)
        s.flush()
        return Filed(row.ref, row.review_due_at, order.ref if order else None)


def unused_balance(account_id: int) -> str:
    with db.reading() as s:
        return money.format_usd_micros(ledger.balances(s, account_id).total_micros)


def prepared_mail(account_email: str, purchase_at: str, amount: str, balance: str,
                  reason: str) -> str:
    """A mailto: link with the message the policy asks for."""
    body = (f"Account email / ID: {account_email}\n"
            f"Purchase date and time: {purchase_at}\n"
            f"Amount: {amount}\n"
            f"Current unused credit balance: {balance}\n"
            f"Reason for refund: {reason}\n")
    return f"mailto:{SUPPORT_EMAIL}?subject={quote('Refund request')}&body={quote(body)}"


def _order_ref(s: Session, row: EmailRequest) -> str:
    if row.topup_order_id:
        return s.get(TopupOrder, row.topup_order_id).ref
    if row.subscription_payment_id:
        return s.get(SubscriptionPayment, row.subscription_payment_id).ref
    return ""


def _view(s: Session, row: EmailRequest, now: datetime, account: Account | None = None) -> dict:
    refund = billing.refund_status(row.account_id, row.refund_id) if row.refund_id else None
    return {
        "id": row.id, "ref": row.ref, "account": account.email if account else "",
        "purchase_at": money.format_instant(row.purchase_at),
        "amount": money.format_usd(row.amount_cents), "reason": row.reason,
        "balance": row.unused_balance, "order": _order_ref(s, row) or "no matching order",
        "matched": bool(row.order_kind),
        "submitted": money.format_instant(row.submitted_at),
        "due": money.format_instant(row.review_due_at),
        "overdue": row.status == "pending" and now > row.review_due_at,
        "status": row.status.capitalize(), "note": row.decision_note,
        "refund_ref": refund["refund_ref"] if refund else "",
        "refund_status": refund["label"] if refund else "",
        "refund_color": refund["color"] if refund else "gray",
    }


def my_requests(account_id: int, limit: int = 50) -> list[dict]:
    with db.reading() as s:
        now = clock.now(s)
        rows = s.exec(select(EmailRequest).where(EmailRequest.account_id == account_id)
                      .order_by(EmailRequest.id.desc()).limit(limit)).all()
        return [_view(s, row, now) for row in rows]


# ------------------------------------------------------------------------ support


def require_support(account_id: int) -> Account:
    return auth.account_with_role(account_id, auth.SUPPORT)


def list_for_support(actor_id: int, *, status: str = "pending", page: int = 1,
                     page_size: int = 20) -> billing.Page:
    require_support(actor_id)
    page, page_size = billing.page_bounds(page, page_size)
    query = select(EmailRequest)
    if status != "all":
        query = query.where(EmailRequest.status == status)
    with db.reading() as s:
        now = clock.now(s)
        total = s.exec(select(sa.func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(EmailRequest.review_due_at, EmailRequest.id)
                      .offset((page - 1) * page_size).limit(page_size)).all()
        views = [_view(s, row, now, s.get(Account, row.account_id)) for row in rows]
    return billing.Page(views, total, page, page_size)


def approve(actor_id: int, request_id: int) -> str:
    """Approve a pending request: the refund is approved now, judged for the window
    at the request's submission; return the refund's ref."""
    actor = require_support(actor_id)
    with db.reading() as s:
        row = s.get(EmailRequest, request_id)
    if row is None or row.status != "pending":
        raise refunds.RefundRefused("This request is not pending.")
    if not row.order_kind:
        raise refunds.RefundRefused("No order matches this request: deny it with a reason.")
    approved = refunds.approve_on_behalf(
        actor=actor.email, account_id=row.account_id, kind=row.order_kind,
        order_id=row.topup_order_id or row.subscription_payment_id,
        window_at=row.submitted_at, source="email")
    with db.transaction() as s:
        row = s.get(EmailRequest, request_id)
        row.status, row.refund_id = "approved", approved.refund_id
        row.decided_by, row.decided_at = actor.email, clock.now(s)
        s.add(row)
    refunds.send(approved.refund_id)
    return approved.refund_ref


def deny(actor_id: int, request_id: int, note: str) -> None:
    actor = require_support(actor_id)
    note = (note or "").strip()
    if not note:
        raise RequestError("Reason", "give the customer a reason for the denial")
    with db.transaction() as s:
        row = s.get(EmailRequest, request_id)
        if row is None or row.status != "pending":
            raise refunds.RefundRefused("This request is not pending.")
        row.status, row.decision_note = "denied", note[:1000]
        row.decided_by, row.decided_at = actor.email, clock.now(s)
        s.add(row)
