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
from zenmux_refunds.config import SUPPORT_EMAIL
from zenmux_refunds.domain import money
from zenmux_refunds.domain.vocabulary import OrderKind, RefundSource, RequestStatus
from zenmux_refunds.i18n import (
    ENGLISH,
    Locale,
    format_instant,
    format_instant_utc,
    format_usd,
    gettext,
    translate,
)
from zenmux_refunds.models import Account, EmailRequest, SubscriptionPayment, TopupOrder
from zenmux_refunds.services import auth, billing, business_days, ledger, mail, quotes, refunds
from zenmux_refunds.services.views import ActionCheck, OrderChoice, Page, RequestRow

REVIEW_BUSINESS_DAYS = 7
MAX_REASON = 2000
MAX_CONTACT = 254  # an e-mail address at most (RFC 5321), the column's width
# No ZenMux order predates 2020: an earlier purchase time is a typo (or year 0001).
EARLIEST_PURCHASE = datetime(2020, 1, 1, tzinfo=timezone.utc)
# The largest amount an e-mail request may name: $100,000.00. The dearest plan is $200 a
# month and a top-up of this size would already be handled by hand; beyond it, only a
# typo or an attack (e.g. 92,233,720,368,547,758.07, the BIGINT limit in cents) remains,
# and the arithmetic of a later approval must stay far from 64-bit overflow.
MAX_AMOUNT_CENTS = 100_000_00
# The balance the customer states is only shown to support; bounded the same way as a
# wallet could plausibly hold (ten times the largest request).
MAX_BALANCE_CENTS = 10 * MAX_AMOUNT_CENTS
_MAX_NUMBER_TEXT = 32  # longer than any amount within the bounds, with separators
# ASCII only: \d would also take other scripts' digits ("２０２６", "١٠").
_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}", re.ASCII)


class RequestError(ValueError):
    """A request the form must refuse; ``field`` names the input. ``problem`` is a
    catalog msgid whose ``{placeholders}`` ``values`` fill: ``str()`` is the English,
    :meth:`in_language` the customer's."""

    def __init__(self, field: str, problem: str, **values: object):
        self.field, self.problem, self.values = field, problem, values
        super().__init__(f"{field}: {problem.format(**values)}")

    def in_language(self, lang: str) -> str:
        return f"{gettext(self.field, lang)}: {translate(self.problem, lang, **self.values)}"


WHEN = "Purchase date and time"
AMOUNT = "Amount"
BALANCE = "Current unused credit balance"
CONTACT = "Account email / ID"
REASON = "Reason"
ORDER = "Your order"


def parse_purchase_time(text: str) -> datetime:
    """``YYYY-MM-DD HH:mm`` (ASCII digits, UTC) -> an aware datetime, not before 2020."""
    raw = (text or "").strip(" ")
    if not _MINUTE.fullmatch(raw):
        raise RequestError(WHEN, "use the format YYYY-MM-DD HH:mm with digits 0-9, "
                                 "e.g. 2026-11-26 10:00 (UTC)")
    try:
        at = datetime.strptime(raw, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    except ValueError:
        raise RequestError(WHEN, "{raw} is not a real date and time", raw=raw) from None
    if at < EARLIEST_PURCHASE:
        raise RequestError(WHEN, "must be on or after 2020-01-01 00:00")
    return at


def _usd(text: str, field: str, *, limit_cents: int, example: str,
         allow_zero: bool = False) -> int:
    """A USD amount as a customer types it ("$1,234.56"): ASCII digits only, at most
    two decimals, greater than zero (or zero, if allowed) and at most ``limit_cents``."""
    raw = (text or "").strip(" ")
    if len(raw) > _MAX_NUMBER_TEXT:
        raise RequestError(field, "at most {amount}", amount=money.format_usd(limit_cents))
    try:
        cents = money.parse_money(raw.removeprefix("$").replace(",", ""), places=2,
                                  field=field)
    except money.MoneyError:
        raise RequestError(field, "enter an amount in USD with digits 0-9, e.g. {example}",
                           example=example) from None
    if cents < 0 or (cents == 0 and not allow_zero):
        raise RequestError(field, "must be greater than zero")
    if cents > limit_cents:
        raise RequestError(field, "at most {amount}", amount=money.format_usd(limit_cents))
    return cents


def parse_amount(text: str) -> int:
    return _usd(text, AMOUNT, limit_cents=MAX_AMOUNT_CENTS, example="10.00")


def parse_balance(text: str) -> str:
    """The stated unused balance, normalised ("$1,179.37"); empty if not given."""
    if not (text or "").strip(" "):
        return ""
    return money.format_usd(_usd(text, BALANCE, limit_cents=MAX_BALANCE_CENTS,
                                 example="$179.37", allow_zero=True))


def review_due(submitted_at: datetime) -> datetime:
    """7 business days after submission, at the same time of day."""
    day = business_days.add(submitted_at.date(), REVIEW_BUSINESS_DAYS)
    return datetime.combine(day, time(submitted_at.hour, submitted_at.minute),
                            tzinfo=timezone.utc)


def _match_order(s: Session, account_id: int, at: datetime, amount_cents: int):
    end = at + timedelta(minutes=1)
    for kind, model in ((OrderKind.TOPUP, TopupOrder),
                        (OrderKind.SUBSCRIPTION, SubscriptionPayment)):
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
    if len(contact) > MAX_CONTACT:
        raise RequestError(CONTACT, "at most {count} characters", count=MAX_CONTACT)
    at = parse_purchase_time(purchase_at)
    amount_cents = parse_amount(amount)
    balance = parse_balance(unused_balance)
    if not reason:
        raise RequestError(REASON, "tell us why you are asking for a refund")
    if len(reason) > MAX_REASON:
        raise RequestError(REASON, "at most {count} characters", count=MAX_REASON)
    with db.transaction() as s:
        # under the account's lock: two identical submissions at once file one request
        ledger.lock_account(s, account_id)
        account = s.get(Account, account_id)
        if contact.lower() not in (account.email, account.ref.lower()):
            raise RequestError(CONTACT,
                               "must be the e-mail or ID of the account you are signed in to")
        now = clock.now(s)
        # A purchase cannot postdate the request (the app's clock; times are UTC).
        if at > now:
            raise RequestError(WHEN, "is in the future")
        kind, order = _match_order(s, account.id, at, amount_cents)
        same = s.exec(select(EmailRequest.ref).where(
            EmailRequest.account_id == account.id, EmailRequest.status == RequestStatus.PENDING,
            EmailRequest.purchase_at == at, EmailRequest.amount_cents == amount_cents)).first()
        if same is not None:
            raise RequestError(ORDER if order is not None else WHEN,
                               "You already asked for this order: {ref} is still pending",
                               ref=same)
        row = EmailRequest(
            ref=f"REQ-{secrets.token_hex(3).upper()}", account_id=account.id, contact=contact,
            purchase_at=at, amount_cents=amount_cents,
            unused_balance=balance, reason=reason,
            submitted_at=now, review_due_at=review_due(now), order_kind=kind,
            subscription_payment_id=order.id if kind == OrderKind.SUBSCRIPTION else None,
            topup_order_id=order.id if kind == OrderKind.TOPUP else None,
        )
        s.add(row)
        s.flush()
        mail.request_received(s, row)
        return Filed(row.ref, row.review_due_at, order.ref if order else None)


ORDERS_LISTED = 50


def orders_to_pick(account_id: int, locale: Locale = ENGLISH) -> list[OrderChoice]:
    """The account's paid orders of every channel, newest first (at most
    ``ORDERS_LISTED``), for the request form's order picker: picking one fills in the
    date, time and amount the request needs. Only the account's own orders. The label
    is in the customer's language; its time stays UTC, as the form's field takes it."""
    lang = locale.lang
    choices: list[tuple[datetime, OrderChoice]] = []
    with db.reading() as s:
        for kind, model in ((OrderKind.SUBSCRIPTION, SubscriptionPayment),
                            (OrderKind.TOPUP, TopupOrder)):
            rows = s.exec(select(model).where(model.account_id == account_id,
                                              model.status == "paid")
                          .order_by(model.paid_at.desc()).limit(ORDERS_LISTED)).all()
            for order in rows:
                what = (translate("{plan} subscription", lang, plan=order.plan)
                        if kind == OrderKind.SUBSCRIPTION else gettext("Top-up", lang))
                when = order.paid_at.strftime("%Y-%m-%d %H:%M")
                amount = money.format_usd(order.amount_cents)
                choices.append((order.paid_at, OrderChoice(
                    value=f"{kind}:{order.id}",
                    label=(f"{order.ref} · {what} · {when} UTC · "
                           f"{format_usd(order.amount_cents, lang)} · "
                           f"{billing.method_label(order.channel, locale)}"),
                    purchase_at=when, amount=amount.removeprefix("$").replace(",", ""))))
    choices.sort(key=lambda pair: pair[0], reverse=True)
    return [choice for _at, choice in choices[:ORDERS_LISTED]]


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


def _view(s: Session, row: EmailRequest, now: datetime,
          account: Account | None = None, locale: Locale = ENGLISH) -> RequestRow:
    """A request as a list shows it: the customer's own in their ``locale``, support's
    (``account`` given) in English."""
    refund = (billing.refund_status(row.account_id, row.refund_id, locale)
              if row.refund_id else None)
    lang, tz = locale.lang, locale.tz
    return RequestRow(
        id=row.id, ref=row.ref, account=account.email if account else "",
        purchase_at=format_instant(row.purchase_at, lang, tz),
        amount=format_usd(row.amount_cents, lang), reason=row.reason,
        balance=row.unused_balance,
        order=_order_ref(s, row) or gettext("no matching order", lang),
        matched=bool(row.order_kind),
        submitted=format_instant(row.submitted_at, lang, tz),
        due=format_instant(row.review_due_at, lang, tz),
        overdue=row.status == RequestStatus.PENDING and now > row.review_due_at,
        status=gettext(row.status.capitalize(), lang), note=row.decision_note,
        refund_ref=refund.refund_ref if refund else "",
        refund_status=refund.label if refund else "",
        refund_color=refund.color if refund else "gray",
        submitted_utc=format_instant_utc(row.submitted_at, lang),
        due_utc=format_instant_utc(row.review_due_at, lang),
    )


def my_requests(account_id: int, limit: int = 50,
                locale: Locale = ENGLISH) -> list[RequestRow]:
    with db.reading() as s:
        now = clock.now(s)
        rows = s.exec(select(EmailRequest).where(EmailRequest.account_id == account_id)
                      .order_by(EmailRequest.id.desc()).limit(limit)).all()
        return [_view(s, row, now, locale=locale) for row in rows]


# ------------------------------------------------------------------------ support


def require_support(account_id: int) -> Account:
    return auth.account_with_role(account_id, auth.SUPPORT)


# the support console's request filter: a status, or every request
REQUEST_FILTERS = (*RequestStatus, "all")


def list_for_support(actor_id: int, *, status: str = RequestStatus.PENDING, page: int = 1,
                     page_size: int = 20) -> Page[RequestRow]:
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
    return Page(views, total, page, page_size)


def approve(actor_id: int, request_id: int) -> str:
    """Approve a pending request: the refund is approved now, judged for the window
    at the request's submission, and the request becomes Approved in the approval's
    own transaction (checked still pending under the account's lock); return the
    refund's ref."""
    actor = require_support(actor_id)
    with db.reading() as s:  # whose, which order, when: facts that never change
        row = s.get(EmailRequest, request_id)
    if row is None or row.status != RequestStatus.PENDING:
        raise refunds.RefundRefused("This request is not pending.")
    if not row.order_kind:
        raise refunds.RefundRefused("No order matches this request: deny it with a reason.")

    def decide(s: Session, refund, now: datetime) -> None:
        current = s.get(EmailRequest, request_id)
        s.refresh(current)
        if current.status != RequestStatus.PENDING:
            raise refunds.RefundRefused("This request is not pending.")
        current.status, current.refund_id = RequestStatus.APPROVED, refund.id
        current.decided_by, current.decided_at = actor.email, now
        s.add(current)
        mail.request_approved(s, current, refund)

    approved = refunds.request_refund(
        actor=actor.email, account_id=row.account_id, kind=row.order_kind,
        order_id=row.topup_order_id or row.subscription_payment_id,
        window_at=row.submitted_at, source=RefundSource.EMAIL, via_support=True, within=decide,
        dispatch=refunds.send_now)
    return approved.refund_ref


def deny(actor_id: int, request_id: int, note: str) -> None:
    actor = require_support(actor_id)
    note = (note or "").strip()
    if not note:
        raise RequestError("Reason", "give the customer a reason for the denial")
    with db.transaction() as s:
        row = s.get(EmailRequest, request_id)
        if row is None:
            raise refunds.RefundRefused("This request is not pending.")
        # under the account's lock, like an approval of it: one decision wins
        ledger.lock_account(s, row.account_id)
        s.refresh(row)
        if row.status != RequestStatus.PENDING:
            raise refunds.RefundRefused("This request is not pending.")
        row.status, row.decision_note = RequestStatus.DENIED, note[:1000]
        row.decided_by, row.decided_at = actor.email, clock.now(s)
        s.add(row)
        mail.request_denied(s, row)


def check_decision(request_id: int, action: str) -> ActionCheck:
    """What support reads before approving or denying a request: the customer, what
    they asked for, the matched order and — for an approval — the refund as it would be
    quoted now (window judged at the request's submission, latest usage). The decision
    itself re-checks everything under the account's lock."""
    with db.reading() as s:
        row = s.get(EmailRequest, request_id)
        if row is None:
            raise LookupError("No such request.")
        account = s.get(Account, row.account_id)
        customer = f"{account.name} ({account.email})"
        asked = (f"{money.format_instant(row.purchase_at)} · "
                 f"{money.format_usd(row.amount_cents)} · matched order {_order_ref(s, row)}")
        if action == "deny":
            return ActionCheck(
                "deny", row.id, f"Deny {row.ref}?", customer, asked,
                [("Asked for", money.format_usd(row.amount_cents))],
                "The customer reads your reason on their Email request page.",
                "Deny the request", True)
        lines: list[tuple[str, str]] = []
        note = "The refund is approved now and sent to the provider (or paid out by hand)."
        if row.status != RequestStatus.PENDING:
            note = "This request is not pending: approving it will be refused."
        elif not row.order_kind:
            note = "No order matches this request: approving it will be refused."
        else:
            order_id = row.topup_order_id or row.subscription_payment_id
            view = quotes.quote_order(s, account, row.order_kind, order_id, row.submitted_at,
                                      via_support=True)
            q = view.decision.quote
            final = money.format_returned(q.final_cents, q.charged_currency,
                                          q.final_charged_minor)
            lines = [("Paid", money.format_usd(q.paid_cents)),
                     ("Usage since payment", money.format_usd(q.usage_cents)),
                     ("Already refunded", money.format_usd(q.already_refunded_cents)),
                     ("Refundable", money.format_usd(q.refundable_cents)),
                     (f"Platform fee ({q.fee_percent}%)", money.format_usd(q.fee_cents)),
                     ("Amount returned", final)]
            if not view.decision.eligible:
                note = f"Approving it will be refused: {view.decision.reason.value}."
    return ActionCheck("approve", row.id, f"Approve {row.ref}?", customer, asked, lines,
                       note, "Approve the refund", False)
