"""The customer's refund record (issue 11): every refund stays findable after the
dialog closes — a Refunds section per billing page (paginated in the database, newest
first) and, opened from it or from an amount's status tag, the refund's timeline.

The timeline is the customer-safe part of the audit trail (``RefundEvent``): approved
(with the amount), sent to the provider (named from the ``provider:<name>`` actor),
refunded / failed / canceled, each with its time, and the settled-amount change when
the preview differed. Everything else the trail holds stays support's: who acted (an
agent's e-mail), notes, the provider's texts and ids, inquiries, errors and the
``needs_attention`` internals. A refund flagged ``paid_after_close`` reads "Under
review", as its tag does.

Every read is scoped to the signed-in account: a refund, order or ledger entry that is
not the account's is answered as if it did not exist (``quotes.NotYourOrder`` or None).

The words are built in the customer's language and time zone (``locale``, English in
UTC by default) from msgids of the i18n catalog; money and instants go through the
i18n formatters.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import db
from zenmux_refunds.domain import policy
from zenmux_refunds.domain.vocabulary import OrderKind, RefundStatus
from zenmux_refunds.i18n import (
    ENGLISH,
    Locale,
    format_instant,
    format_instant_utc,
    format_money,
    format_usd,
    gettext,
    translate,
)
from zenmux_refunds.models import LedgerEntry, Refund, RefundEvent, SubscriptionPayment, TopupOrder
from zenmux_refunds.services import billing, quotes
from zenmux_refunds.services.views import (
    Page,
    RefundRecordRow,
    RefundTimeline,
    TimelineEvent,
)

RECEIPT_URL = "/api/receipts/{ref}.pdf"  # the credit note; served (and authorized) by the api
# how the provider a refund was sent to is named to the customer (actor "provider:<name>")
PROVIDER_NAMES = {"stripe": "Stripe", "antom": "Antom", "sandbox": "the Sandbox"}
PAID_BY_HAND = "manual"


def _order_ref(s: Session, refund: Refund) -> str:
    if refund.subscription_payment_id is not None:
        order = s.get(SubscriptionPayment, refund.subscription_payment_id)
    else:
        order = s.get(TopupOrder, refund.topup_order_id)
    return order.ref if order is not None else ""


# the amount's label says whether it went back: a failed refund's "$14.25" is not money
# the customer received
RETURNED_LABELS = {
    RefundStatus.REFUNDED: "Amount returned",
    RefundStatus.REFUNDING: "Amount to be returned",
    RefundStatus.FAILED: "Not returned",
    RefundStatus.CANCELED: "Not returned",
    policy.NEEDS_ATTENTION: "Amount under review",
}


def _row(refund: Refund, order_ref: str, locale: Locale = ENGLISH) -> RefundRecordRow:
    tag = billing.status_tag(refund, locale)
    lang = locale.lang
    return RefundRecordRow(
        id=refund.id, ref=refund.ref, order_ref=order_ref,
        requested=format_instant(refund.requested_at, lang, locale.tz),
        refundable=format_usd(refund.gross_cents, lang),
        fee=format_usd(refund.fee_cents, lang),
        returned_label=gettext(RETURNED_LABELS[billing.shown_status(refund)], lang),
        returned=format_usd(refund.final_cents, lang),
        returned_in_currency=(format_money(refund.final_minor, refund.currency, lang)
                              if refund.currency != "USD" else ""),
        tag=tag.tag, tag_color=tag.tag_color,
        arrival=billing.arrival_text(refund, locale),
        receipt_url=RECEIPT_URL.format(ref=refund.ref),
        requested_utc=format_instant_utc(refund.requested_at, lang), waiting=tag.waiting,
    )


def refunds_page(account_id: int, kind: str, page: int = 1, page_size: int = 5,
                 locale: Locale = ENGLISH) -> Page[RefundRecordRow]:
    """One page of the account's refunds of ``kind`` orders, newest first."""
    kind = OrderKind(kind)
    page, page_size = billing.page_bounds(page, page_size)
    mine = sa.and_(Refund.account_id == account_id, Refund.order_kind == kind)
    order_ref = (SubscriptionPayment.ref if kind == OrderKind.SUBSCRIPTION else TopupOrder.ref)
    joined = (SubscriptionPayment.id == Refund.subscription_payment_id
              if kind == OrderKind.SUBSCRIPTION else TopupOrder.id == Refund.topup_order_id)
    order_model = SubscriptionPayment if kind == OrderKind.SUBSCRIPTION else TopupOrder
    with db.reading() as s:
        total = s.exec(select(sa.func.count()).select_from(Refund).where(mine)).one()
        rows = s.exec(select(Refund, order_ref).join(order_model, joined).where(mine)
                      .order_by(Refund.requested_at.desc(), Refund.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return Page([_row(refund, ref, locale) for refund, ref in rows], total, page, page_size)


def timeline(account_id: int, refund_id: int, locale: Locale = ENGLISH) -> RefundTimeline:
    """The account's refund with its customer-safe timeline (NotYourOrder otherwise)."""
    with db.reading() as s:
        refund = s.get(Refund, refund_id) if type(refund_id) is int else None
        if refund is None or refund.account_id != account_id:
            raise quotes.NotYourOrder("no such refund for this account")
        events = s.exec(select(RefundEvent).where(RefundEvent.refund_id == refund.id)
                        .order_by(RefundEvent.id)).all()
        row = _row(refund, _order_ref(s, refund), locale)
    return RefundTimeline(row=row, events=tuple(_customer_events(refund, events, locale)))


def refund_of_order(account_id: int, kind: str, order_id: int) -> int | None:
    """The latest refund of one of the account's orders (the one its tag shows)."""
    kind = OrderKind(kind)
    column = (Refund.subscription_payment_id if kind == OrderKind.SUBSCRIPTION
              else Refund.topup_order_id)
    with db.reading() as s:
        return s.exec(select(Refund.id).where(Refund.account_id == account_id,
                                              Refund.order_kind == kind, column == order_id)
                      .order_by(Refund.id.desc())).first()


def refund_of_entry(account_id: int, entry_id: int) -> int | None:
    """The refund behind one of the account's own Transactions lines. A referrer's
    clawback line names another customer's refund: that one is not theirs to open."""
    with db.reading() as s:
        return s.exec(select(Refund.id).join(LedgerEntry, LedgerEntry.refund_id == Refund.id)
                      .where(LedgerEntry.id == entry_id, LedgerEntry.account_id == account_id,
                             Refund.account_id == account_id)).first()


def returned_words(refund: Refund, locale: Locale = ENGLISH) -> str:
    """What the customer gets back, beside the wallet's debit in Transactions:
    "returned $19.00" (or "returned CNY 677.08 ($94.04)"), "returning …" while it is on
    its way, "nothing returned" when it failed or was canceled."""
    shown = billing.shown_status(refund)
    amount = billing.refund_amount(refund, locale)
    lang = locale.lang
    if shown == RefundStatus.REFUNDED:
        return translate("returned {amount}", lang, amount=amount)
    if shown == RefundStatus.REFUNDING:
        return translate("returning {amount}", lang, amount=amount)
    if shown == policy.NEEDS_ATTENTION:
        return gettext("under review", lang)
    return gettext("nothing returned", lang)


# ------------------------------------------------------------------ the timeline

_CLOSING = {
    RefundStatus.REFUNDED: "Refunded: {amount} returned to your payment method",
    RefundStatus.FAILED: "Refund failed — please contact support",
    RefundStatus.CANCELED: "Refund canceled",
}


def _sent_text(actor: str, locale: Locale = ENGLISH) -> str:
    name = actor.removeprefix("provider:") if actor.startswith("provider:") else ""
    if name == PAID_BY_HAND:
        return gettext("To be paid out by support", locale.lang)
    provider = gettext(PROVIDER_NAMES.get(name, "the payment provider"), locale.lang)
    return translate("Sent to {provider}", locale.lang, provider=provider)


def _customer_events(refund: Refund, events: list[RefundEvent],
                     locale: Locale = ENGLISH) -> list[TimelineEvent]:
    """The trail in the customer's words; every action not named here is left out."""
    lang = locale.lang
    amount = billing.refund_amount(refund, locale)
    out: list[TimelineEvent] = []
    sent = False
    for e in events:
        at = format_instant(e.at, lang, locale.tz)
        at_utc = format_instant_utc(e.at, lang)
        if e.action in ("approved", "loaded"):
            out.append(TimelineEvent(at, translate("Refund approved: {amount} to be returned",
                                                   lang, amount=amount), "approved", at_utc))
            if (e.action == "approved" and refund.preview_final_cents is not None
                    and refund.preview_final_cents != refund.final_cents):
                out.append(TimelineEvent(at, translate(
                    "Amount changed from {before} to {after}: API calls in flight were "
                    "billed after the preview", lang,
                    before=format_usd(refund.preview_final_cents, lang),
                    after=format_usd(refund.final_cents, lang)), "changed", at_utc))
            # a refund loaded with its history has one line for its whole past
            if e.action == "loaded" and e.to_status in _CLOSING:
                out.append(_closing(e.to_status, at, amount, locale, at_utc))
        elif e.action == "sent" and not sent:
            sent = True
            out.append(TimelineEvent(at, _sent_text(e.actor, locale), "sent", at_utc))
        elif e.action in _CLOSING and e.to_status == e.action:
            out.append(_closing(e.action, at, amount, locale, at_utc))
    if billing.shown_status(refund) == policy.NEEDS_ATTENTION:
        words = policy.STATUS_WORDS[policy.NEEDS_ATTENTION]
        at = refund.attention_at or refund.settled_at or refund.requested_at
        out.append(TimelineEvent(format_instant(at, lang, locale.tz),
                                 translate("{label}: {description}", lang,
                                           label=gettext(words.label, lang),
                                           description=gettext(words.description, lang)),
                                 "review", format_instant_utc(at, lang)))
    return out


def _closing(status: str, at: str, amount: str, locale: Locale = ENGLISH,
             at_utc: str = "") -> TimelineEvent:
    return TimelineEvent(at, translate(_CLOSING[RefundStatus(status)], locale.lang,
                                       amount=amount), status, at_utc)

