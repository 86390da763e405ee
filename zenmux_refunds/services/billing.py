"""What the billing pages show, as display-ready view models (``services.views``): the
plan card, one page of the billing history with each row's refund button state, the
refund preview of one order and a refund's status. Reads only; every read is scoped to
the signed-in account.

Every function that builds words for the customer takes ``locale`` (``i18n.Locale``:
language and time zone; English in UTC by default). The policy's words stay English in
the logic (``policy.Reason``, the status keys) and are translated here, at display;
money and instants go through the i18n formatters, which give today's English exactly.
"""

from __future__ import annotations

from urllib.parse import quote as url_quote

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.config import SUPPORT_EMAIL, settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.vocabulary import Attention, OrderKind, RefundStatus
from zenmux_refunds.i18n import (
    ENGLISH,
    Locale,
    format_day,
    format_instant,
    format_instant_utc,
    format_money,
    format_returned,
    format_usd,
    format_usd_micros,
    gettext,
    translate,
)
from zenmux_refunds.models import Account, CurrentPlan, Refund, SubscriptionPayment
from zenmux_refunds.services import business_days, quotes, usage
from zenmux_refunds.services.views import (
    NO_TAG,
    HistoryRow,
    Page,
    PlanCard,
    Preview,
    RefundButton,
    RefundStatusView,
    StatusTag,
)

PLAN_PRICES_CENTS = {"Free": 0, "Pro": 2000, "Max": 10000, "Ultra": 20000}
STATUS_COLORS = {RefundStatus.REFUNDING: "blue", RefundStatus.REFUNDED: "green",
                 RefundStatus.FAILED: "red", RefundStatus.CANCELED: "gray",
                 policy.NEEDS_ATTENTION: "orange"}
# A tag sits beside a paid amount in a row: a bare "Failed" there reads as if the payment
# failed, so the tag names the refund. The dialog keeps the status table's own words.
TAG_WORDS = {RefundStatus.FAILED: "Refund failed"}
PAGE_SIZE_MAX = 100


def method_label(channel: str, locale: Locale = ENGLISH) -> str:
    """How a payment channel is named to the customer."""
    return gettext({"stripe": "Card (Stripe)", "antom": "Alipay (Antom)"}.get(
        channel, channel.replace("_", " ").capitalize()), locale.lang)


def needs_attention(refund: Refund) -> bool:
    """Support has a refund to look at (the provider paid one we closed) and has not
    marked it resolved yet."""
    return refund.attention is not None and refund.attention_resolved_at is None


def shown_status(refund: Refund) -> str:
    """The status key the customer's words and colours follow: a refund the provider
    paid after we closed it reads "Under review" until support resolves it. A stuck
    refund, or one waiting for an action, still reads Refunding: it is."""
    under_review = needs_attention(refund) and refund.attention == Attention.PAID_AFTER_CLOSE
    return policy.NEEDS_ATTENTION if under_review else refund.status


def status_tag(refund: Refund | None, locale: Locale = ENGLISH) -> StatusTag:
    if refund is None:
        return NO_TAG
    shown = shown_status(refund)
    return StatusTag(tag=gettext(TAG_WORDS.get(shown, policy.STATUS_WORDS[shown].label),
                                 locale.lang),
                     tag_color=STATUS_COLORS[shown],
                     waiting=shown == RefundStatus.REFUNDING)


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    page_size = max(1, min(int(page_size), PAGE_SIZE_MAX))
    return max(int(page), 1), page_size


def plan_card(account_id: int, locale: Locale = ENGLISH) -> PlanCard:
    lang = locale.lang
    with db.reading() as s:
        account = s.get(Account, account_id)
        plan = s.get(CurrentPlan, account_id)
        payment = s.get(SubscriptionPayment, plan.payment_id) if plan and plan.payment_id else None
        name = plan.plan if plan else "Free"
        price = translate("{price}/mo", lang,
                          price=format_usd(PLAN_PRICES_CENTS.get(name, 0), lang))
        if payment is None:
            return PlanCard(plan=name, price=price, cycle="—", usage="—")
        return PlanCard(
            plan=name, price=price,
            cycle=(f"{format_instant(payment.paid_at, lang, locale.tz)} – "
                   f"{format_instant(payment.cycle_ends_at, lang, locale.tz)}"),
            cycle_utc=(f"{format_instant_utc(payment.paid_at, lang)} – "
                       f"{format_instant_utc(payment.cycle_ends_at, lang)}"),
            # usage is counted against the plan rounded up to the cent, as in the quote
            usage=format_usd(money.micros_to_cents_up(
                usage.since_subscription_payment(account, payment)), lang),
        )


def latest_refunds(s: Session, kind: OrderKind, order_ids: list[int]) -> dict[int, Refund]:
    if not order_ids:
        return {}
    column = Refund.subscription_payment_id if kind == OrderKind.SUBSCRIPTION else Refund.topup_order_id
    latest: dict[int, Refund] = {}
    for refund in s.exec(select(Refund).where(column.in_(order_ids)).order_by(Refund.id)).all():
        latest[getattr(refund, column.key)] = refund
    return latest


def button_state(decision: policy.Decision, locale: Locale = ENGLISH) -> RefundButton:
    reason = decision.reason
    return RefundButton(
        can_refund=decision.eligible,
        reason=gettext(reason.value, locale.lang) if reason else "",
        gift=reason == policy.Reason.GIFT,
        email_link=reason == policy.Reason.NOT_ONLINE,
    )


EXPIRED_TAG = "Expired"


class ExpiredWording:
    """On a long history every old row would repeat "Refund window expired". Fed one
    page's Refund buttons newest first, it lets the first whose window expired keep the
    policy's words and gives each older one the muted tag "Expired" instead (its
    ``reason`` is unchanged: the button stays disabled for the same reason). Per page,
    so every page reads on its own. Other reasons are always said in full."""

    def __init__(self, locale: Locale = ENGLISH) -> None:
        self._said = False
        self._lang = locale.lang

    def tag(self, button: RefundButton) -> str:
        # the button's reason is already in the page's language
        expired = gettext(policy.Reason.WINDOW_EXPIRED.value, self._lang)
        if button.can_refund or button.reason != expired:
            return ""
        if not self._said:
            self._said = True
            return ""
        return gettext(EXPIRED_TAG, self._lang)


def subscription_history(account_id: int, page: int = 1, page_size: int = 10,
                         locale: Locale = ENGLISH) -> Page[HistoryRow]:
    """One page of the account's subscription payments, newest first."""
    page, page_size = page_bounds(page, page_size)
    with db.reading() as s:
        account = s.get(Account, account_id)
        now = clock.now(s)
        total = s.exec(select(sa.func.count()).select_from(SubscriptionPayment)
                       .where(SubscriptionPayment.account_id == account_id)).one()
        payments = s.exec(select(SubscriptionPayment)
                          .where(SubscriptionPayment.account_id == account_id)
                          .order_by(SubscriptionPayment.paid_at.desc(), SubscriptionPayment.id.desc())
                          .offset((page - 1) * page_size).limit(page_size)).all()
        latest = latest_refunds(s, OrderKind.SUBSCRIPTION, [p.id for p in payments])
        rows, expired, lang = [], ExpiredWording(locale), locale.lang
        for p in payments:
            decision = quotes.quote_order(s, account, OrderKind.SUBSCRIPTION, p.id, now).decision
            tag, button = status_tag(latest.get(p.id), locale), button_state(decision, locale)
            rows.append(HistoryRow(
                id=p.id, date=format_instant(p.paid_at, lang, locale.tz), ref=p.ref,
                plan=translate("{plan} (gift)", lang, plan=p.plan) if p.gift else p.plan,
                amount=format_usd(p.amount_cents, lang),
                method=method_label(p.channel, locale),
                status=gettext(p.status.capitalize(), lang),
                tag=tag.tag, tag_color=tag.tag_color,
                can_refund=button.can_refund, reason=button.reason, gift=button.gift,
                email_link=button.email_link, reason_tag=expired.tag(button),
                date_utc=format_instant_utc(p.paid_at, lang), waiting=tag.waiting,
            ))
        return Page(rows, total, page, page_size)


def preview(account_id: int, kind: OrderKind, order_id: int, *,
            shown_final_cents: int | None = None, locale: Locale = ENGLISH) -> Preview:
    """The refund dialog's preview of one order (NotYourOrder if not the account's).

    ``shown_final_cents``: the final amount the customer was shown before this read (the
    preview they submitted); when the new quote differs, the preview says so
    (``amount_change``), with both amounts.
    """
    with db.reading() as s:
        account = s.get(Account, account_id)
        now = clock.now(s)
        view = quotes.quote_order(s, account, kind, order_id, now)
        # the plan shows only in a subscription's preview
        plan = s.get(CurrentPlan, account_id) if kind == OrderKind.SUBSCRIPTION else None
    d, q, order = view.decision, view.decision.quote, view.order
    lang = locale.lang

    def usd(cents: int) -> str:
        return format_usd(cents, lang)

    def label(msgid: str) -> str:
        return gettext(msgid, lang)

    fee_label = translate("Platform fee ({percent}%)", lang, percent=q.fee_percent)
    refundable = usd(max(q.refundable_cents, 0))
    if kind == OrderKind.SUBSCRIPTION:
        lines = [
            (label("Current plan"), plan.plan if plan else "Free"),
            (label("Total paid"), usd(q.paid_cents)),
            (label("Actual usage"), usd(q.usage_cents)),
            (label("Already refunded"), usd(q.already_refunded_cents)),
            (label("Refundable balance"), refundable),
            (fee_label, usd(q.fee_cents)),
        ]
        forfeits: tuple[str, ...] = ()
        effects = _plan_effects(plan, order, locale)
    else:
        lines = [(label("Order amount"), usd(q.paid_cents))]
        if q.charged_currency != "USD":
            lines.append((label("Amount charged"),
                          format_money(order.charged_minor, q.charged_currency, lang)))
        lines += [
            (label("Payment time"), format_instant(order.paid_at, lang, locale.tz)),
            (label("Usage since payment"), usd(q.usage_cents)),
            (label("Already refunded"), usd(q.already_refunded_cents)),
            (label("Refundable balance"), refundable),
            (fee_label, usd(q.fee_cents)),
        ]
        forfeits = _forfeit_lines(view.forfeits, locale)
        # the wallet gives up the refundable balance (the customer receives the final)
        effects = (translate("{amount} of top-up credits leave your wallet immediately",
                             lang, amount=refundable),)
    final = usd(q.final_cents)
    in_currency = (format_money(q.final_charged_minor, q.charged_currency, lang)
                   if q.charged_currency != "USD" else "")
    button = button_state(d, locale)
    previous, change = _amount_change(shown_final_cents, q.final_cents, locale)
    failure = _last_failure(view.latest_refund, locale)
    return Preview(
        kind=OrderKind(kind), order_id=order.id, order_ref=order.ref,
        lines=tuple(lines),
        final=final, final_in_currency=in_currency,
        final_cents=q.final_cents,
        method=method_label(order.channel, locale),
        window=window_text(d.window_remaining, locale),
        # for the browser's countdown: whole seconds left at `now`, and whether the app
        # clock moves at all (a frozen ZENMUX_NOW keeps the text where it is)
        window_seconds=int(d.window_remaining.total_seconds()),
        window_ticks=clock_runs(),
        forfeits=forfeits, can_refund=button.can_refund, reason=button.reason,
        effects=effects if button.can_refund else (),  # nothing happens to refuse
        destination=destination_label(order.channel, locale),
        previous_final=previous, amount_change=change,
        last_failure=failure,
        support_contact=SUPPORT_EMAIL if failure else "",
        support_mailto=_support_mailto(view.latest_refund) if failure else "",
        paid_at_utc=(format_instant_utc(order.paid_at, lang)
                     if kind == OrderKind.TOPUP else ""),
    )


def window_text(remaining, locale: Locale = ENGLISH) -> str:
    """``policy.window_remaining_text`` in the customer's language: "Refund window
    remaining 14h 0m" (the same hours and minutes, rounded down)."""
    if locale.lang == ENGLISH.lang:
        return policy.window_remaining_text(remaining)
    minutes = max(int(remaining.total_seconds()), 0) // 60
    hours, minutes = divmod(minutes, 60)
    return translate("Refund window remaining {hours}h {minutes}m", locale.lang,
                     hours=hours, minutes=minutes)


def clock_runs() -> bool:
    """Whether the app's clock moves (everything but ``ZENMUX_NOW`` without
    ``ZENMUX_CLOCK=running``)."""
    cfg = settings()
    return cfg.frozen_now is None or cfg.clock_running


def destination_label(channel: str, locale: Locale = ENGLISH) -> str:
    """Where a refund of a ``channel`` payment goes, as the customer knows it.

    No brand or last 4 digits: no order stores them (Stripe would give them on the
    charge's ``payment_method_details.card``; Antom names the wallet in the payment
    result), so the confirmation names the kind of account and its provider.
    """
    known = {"stripe": "your card (Stripe)", "antom": "your Alipay account (Antom)"}
    if channel in known:
        return gettext(known[channel], locale.lang)
    return translate("your original payment method ({method})", locale.lang,
                     method=method_label(channel, locale))


def _plan_effects(plan: CurrentPlan | None, order: SubscriptionPayment,
                  locale: Locale = ENGLISH) -> tuple[str, ...]:
    """What a subscription refund does to the plan at approval (refunds._downgrade): the
    plan this payment pays for drops to Free at once; a payment that no longer carries
    the current plan leaves it alone."""
    if plan is not None and plan.payment_id == order.id:
        return (translate("Your {plan} plan drops to Free immediately when the refund is "
                          "approved; you can subscribe again at any time", locale.lang,
                          plan=plan.plan),)
    return (gettext("Your current plan does not change: this payment is not the one it "
                    "runs on", locale.lang),)


def _amount_change(shown_cents: int | None, final_cents: int,
                   locale: Locale = ENGLISH) -> tuple[str, str]:
    """(the amount shown before, the sentence) when the final amount moved, else ("", "")."""
    if shown_cents is None or shown_cents == final_cents:
        return "", ""
    before, now = format_usd(shown_cents, locale.lang), format_usd(final_cents, locale.lang)
    return before, translate("The amount changed from {before} to {now} because of usage "
                             "since you opened this.", locale.lang, before=before, now=now)


# The support address customers write to (also in services.requests and the page
# footer); named here so the dialog's failure notice does not import the requests use case.


def _last_failure(latest: Refund | None, locale: Locale = ENGLISH) -> str:
    """The sentence the dialog shows first when the order's last refund failed (as the
    customer sees it: one the provider paid after all reads "Under review", not Failed)."""
    if latest is None or shown_status(latest) != RefundStatus.FAILED:
        return ""
    return translate("Your refund {ref} of this order failed: please contact support",
                     locale.lang, ref=latest.ref)


def _support_mailto(latest: Refund) -> str:
    subject = url_quote(f"Refund {latest.ref} failed")
    return f"mailto:{SUPPORT_EMAIL}?subject={subject}"


def _forfeit_lines(f: quotes.Forfeits | None, locale: Locale = ENGLISH) -> tuple[str, ...]:
    """What the refund forfeits and revokes besides the top-up credits, plainly: the
    whole Discount bonus, the part of it that is left, or nothing because it is spent."""
    if f is None:
        return ()
    lang = locale.lang
    lines = []
    if f.discount_micros:
        bonus = format_usd_micros(f.discount_micros, lang)
        if f.discount_left_micros >= f.discount_micros:
            lines.append(translate("The {bonus} Discount bonus of this top-up is forfeited",
                                   lang, bonus=bonus))
        elif f.discount_left_micros > 0:
            left = format_usd_micros(f.discount_left_micros, lang)
            lines.append(translate("{left} of the {bonus} Discount bonus is left and is "
                                   "forfeited", lang, left=left, bonus=bonus))
        else:
            lines.append(translate("The {bonus} Discount bonus of this top-up is already "
                                   "spent: nothing to forfeit", lang, bonus=bonus))
    if f.reward_status:
        # Never the referrer's name: that is another customer's data.
        lines.append(translate(
            "Revokes a referral reward linked to this top-up ({amount}, {status})", lang,
            amount=format_usd_micros(f.reward_micros, lang),
            status=gettext(f.reward_status, lang)))
    return tuple(lines)


def arrival_text(refund: Refund, locale: Locale = ENGLISH) -> str:
    """The expected arrival while Refunding, as the dialog and the Refunds section say
    it (else "")."""
    if refund.status != RefundStatus.REFUNDING:
        return ""
    first, last = business_days.arrival_dates(refund.requested_at)
    return translate("Expected between {first} and {last}", locale.lang,
                     first=format_day(first, locale.lang), last=format_day(last, locale.lang))


def refund_amount(refund: Refund, locale: Locale = ENGLISH) -> str:
    """What the customer receives: "$15.71", or "CNY 677.08 ($94.04)"."""
    return format_returned(refund.final_cents, refund.currency, refund.final_minor,
                           locale.lang)


def refund_status(account_id: int, refund_id: int,
                  locale: Locale = ENGLISH) -> RefundStatusView:
    """A refund's status as the dialog shows it (NotYourOrder if not the account's)."""
    with db.reading() as s:
        refund = s.get(Refund, refund_id)
        if refund is None or refund.account_id != account_id:
            raise quotes.NotYourOrder(f"no refund {refund_id} for this account")
    return status_view(refund, locale)


def status_view(refund: Refund, locale: Locale = ENGLISH) -> RefundStatusView:
    """The status the dialog shows for a refund row already read (``refund_status``),
    or just committed (``refunds.Approved.refund``: shown without reading it back)."""
    shown = shown_status(refund)
    words = policy.STATUS_WORDS[shown]
    changed = (refund.preview_final_cents is not None
               and refund.preview_final_cents != refund.final_cents)
    status = RefundStatus(refund.status)
    lang = locale.lang
    return RefundStatusView(
        refund_id=refund.id, refund_ref=refund.ref, status=status,
        pending=not status.terminal,  # not final yet: the dialog asks again
        label=gettext(words.label, lang), description=gettext(words.description, lang),
        color=STATUS_COLORS[shown], final=refund_amount(refund, locale),
        arrival=arrival_text(refund, locale),
        changed=changed,
        preview_final=format_usd(refund.preview_final_cents or 0, lang),
        settled_final=format_usd(refund.final_cents, lang),
    )
