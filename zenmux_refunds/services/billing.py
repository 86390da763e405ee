"""What the billing pages show, as display-ready view models (``services.views``): the
plan card, one page of the billing history with each row's refund button state, the
refund preview of one order and a refund's status. Reads only; every read is scoped to
the signed-in account.
"""

from __future__ import annotations

from urllib.parse import quote as url_quote

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.config import SUPPORT_EMAIL, settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.vocabulary import Attention, OrderKind, RefundStatus
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


def method_label(channel: str) -> str:
    """How a payment channel is named to the customer."""
    return {"stripe": "Card (Stripe)", "antom": "Alipay (Antom)"}.get(
        channel, channel.replace("_", " ").capitalize())


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


def status_tag(refund: Refund | None) -> StatusTag:
    if refund is None:
        return NO_TAG
    shown = shown_status(refund)
    return StatusTag(tag=TAG_WORDS.get(shown, policy.STATUS_WORDS[shown].label),
                     tag_color=STATUS_COLORS[shown])


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    page_size = max(1, min(int(page_size), PAGE_SIZE_MAX))
    return max(int(page), 1), page_size


def plan_card(account_id: int) -> PlanCard:
    with db.reading() as s:
        account = s.get(Account, account_id)
        plan = s.get(CurrentPlan, account_id)
        payment = s.get(SubscriptionPayment, plan.payment_id) if plan and plan.payment_id else None
        name = plan.plan if plan else "Free"
        price = f"{money.format_usd(PLAN_PRICES_CENTS.get(name, 0))}/mo"
        if payment is None:
            return PlanCard(plan=name, price=price, cycle="—", usage="—")
        return PlanCard(
            plan=name, price=price,
            cycle=(f"{money.format_instant(payment.paid_at)} – "
                   f"{money.format_instant(payment.cycle_ends_at)}"),
            # usage is counted against the plan rounded up to the cent, as in the quote
            usage=money.format_usd(money.micros_to_cents_up(
                usage.since_subscription_payment(account, payment))),
        )


def latest_refunds(s: Session, kind: OrderKind, order_ids: list[int]) -> dict[int, Refund]:
    if not order_ids:
        return {}
    column = Refund.subscription_payment_id if kind == OrderKind.SUBSCRIPTION else Refund.topup_order_id
    latest: dict[int, Refund] = {}
    for refund in s.exec(select(Refund).where(column.in_(order_ids)).order_by(Refund.id)).all():
        latest[getattr(refund, column.key)] = refund
    return latest


def button_state(decision: policy.Decision) -> RefundButton:
    reason = decision.reason
    return RefundButton(
        can_refund=decision.eligible,
        reason=reason.value if reason else "",
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

    def __init__(self) -> None:
        self._said = False

    def tag(self, button: RefundButton) -> str:
        if button.can_refund or button.reason != policy.Reason.WINDOW_EXPIRED.value:
            return ""
        if not self._said:
            self._said = True
            return ""
        return EXPIRED_TAG


def subscription_history(account_id: int, page: int = 1,
                         page_size: int = 10) -> Page[HistoryRow]:
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
        rows, expired = [], ExpiredWording()
        for p in payments:
            decision = quotes.quote_order(s, account, OrderKind.SUBSCRIPTION, p.id, now).decision
            tag, button = status_tag(latest.get(p.id)), button_state(decision)
            rows.append(HistoryRow(
                id=p.id, date=money.format_instant(p.paid_at), ref=p.ref,
                plan=p.plan + (" (gift)" if p.gift else ""),
                amount=money.format_usd(p.amount_cents),
                method=method_label(p.channel), status=p.status.capitalize(),
                tag=tag.tag, tag_color=tag.tag_color,
                can_refund=button.can_refund, reason=button.reason, gift=button.gift,
                email_link=button.email_link, reason_tag=expired.tag(button),
            ))
        return Page(rows, total, page, page_size)


def preview(account_id: int, kind: OrderKind, order_id: int, *,
            shown_final_cents: int | None = None) -> Preview:
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
    fee_label = f"Platform fee ({q.fee_percent}%)"
    refundable = money.format_usd(max(q.refundable_cents, 0))
    if kind == OrderKind.SUBSCRIPTION:
        lines = [
            ("Current plan", plan.plan if plan else "Free"),
            ("Total paid", money.format_usd(q.paid_cents)),
            ("Actual usage", money.format_usd(q.usage_cents)),
            ("Already refunded", money.format_usd(q.already_refunded_cents)),
            ("Refundable balance", refundable),
            (fee_label, money.format_usd(q.fee_cents)),
        ]
        forfeits: tuple[str, ...] = ()
        effects = _plan_effects(plan, order)
    else:
        lines = [("Order amount", money.format_usd(q.paid_cents))]
        if q.charged_currency != "USD":
            lines.append(("Amount charged",
                          money.format_currency(order.charged_minor, q.charged_currency)))
        lines += [
            ("Payment time", money.format_instant(order.paid_at)),
            ("Usage since payment", money.format_usd(q.usage_cents)),
            ("Already refunded", money.format_usd(q.already_refunded_cents)),
            ("Refundable balance", refundable),
            (fee_label, money.format_usd(q.fee_cents)),
        ]
        forfeits = _forfeit_lines(view.forfeits)
        # the wallet gives up the refundable balance (the customer receives the final)
        effects = (f"{refundable} of top-up credits leave your wallet immediately",)
    final = money.format_usd(q.final_cents)
    in_currency = (money.format_currency(q.final_charged_minor, q.charged_currency)
                   if q.charged_currency != "USD" else "")
    button = button_state(d)
    previous, change = _amount_change(shown_final_cents, q.final_cents)
    failure = _last_failure(view.latest_refund)
    return Preview(
        kind=OrderKind(kind), order_id=order.id, order_ref=order.ref,
        lines=tuple(lines),
        final=final, final_in_currency=in_currency,
        final_cents=q.final_cents,
        method=method_label(order.channel),
        window=policy.window_remaining_text(d.window_remaining),
        # for the browser's countdown: whole seconds left at `now`, and whether the app
        # clock moves at all (a frozen ZENMUX_NOW keeps the text where it is)
        window_seconds=int(d.window_remaining.total_seconds()),
        window_ticks=clock_runs(),
        forfeits=forfeits, can_refund=button.can_refund, reason=button.reason,
        effects=effects if button.can_refund else (),  # nothing happens to refuse
        destination=destination_label(order.channel),
        previous_final=previous, amount_change=change,
        last_failure=failure,
        support_contact=SUPPORT_EMAIL if failure else "",
        support_mailto=_support_mailto(view.latest_refund) if failure else "",
    )


def clock_runs() -> bool:
    """Whether the app's clock moves (everything but ``ZENMUX_NOW`` without
    ``ZENMUX_CLOCK=running``)."""
    cfg = settings()
    return cfg.frozen_now is None or cfg.clock_running


def destination_label(channel: str) -> str:
    """Where a refund of a ``channel`` payment goes, as the customer knows it.

    No brand or last 4 digits: no order stores them (Stripe would give them on the
    charge's ``payment_method_details.card``; Antom names the wallet in the payment
    result), so the confirmation names the kind of account and its provider.
    """
    return {"stripe": "your card (Stripe)", "antom": "your Alipay account (Antom)"}.get(
        channel, f"your original payment method ({method_label(channel)})")


def _plan_effects(plan: CurrentPlan | None, order: SubscriptionPayment) -> tuple[str, ...]:
    """What a subscription refund does to the plan at approval (refunds._downgrade): the
    plan this payment pays for drops to Free at once; a payment that no longer carries
    the current plan leaves it alone."""
    if plan is not None and plan.payment_id == order.id:
        return (f"Your {plan.plan} plan drops to Free immediately when the refund is "
                "approved; you can subscribe again at any time",)
    return ("Your current plan does not change: this payment is not the one it runs on",)


def _amount_change(shown_cents: int | None, final_cents: int) -> tuple[str, str]:
    """(the amount shown before, the sentence) when the final amount moved, else ("", "")."""
    if shown_cents is None or shown_cents == final_cents:
        return "", ""
    before, now = money.format_usd(shown_cents), money.format_usd(final_cents)
    return before, (f"The amount changed from {before} to {now} because of usage since "
                    "you opened this.")


# The support address customers write to (also in services.requests and the page
# footer); named here so the dialog's failure notice does not import the requests use case.


def _last_failure(latest: Refund | None) -> str:
    """The sentence the dialog shows first when the order's last refund failed (as the
    customer sees it: one the provider paid after all reads "Under review", not Failed)."""
    if latest is None or shown_status(latest) != RefundStatus.FAILED:
        return ""
    return f"Your refund {latest.ref} of this order failed: please contact support"


def _support_mailto(latest: Refund) -> str:
    subject = url_quote(f"Refund {latest.ref} failed")
    return f"mailto:{SUPPORT_EMAIL}?subject={subject}"


def _forfeit_lines(f: quotes.Forfeits | None) -> tuple[str, ...]:
    """What the refund forfeits and revokes besides the top-up credits, plainly: the
    whole Discount bonus, the part of it that is left, or nothing because it is spent."""
    if f is None:
        return ()
    lines = []
    if f.discount_micros:
        bonus = money.format_usd_micros(f.discount_micros)
        if f.discount_left_micros >= f.discount_micros:
            lines.append(f"The {bonus} Discount bonus of this top-up is forfeited")
        elif f.discount_left_micros > 0:
            lines.append(f"{money.format_usd_micros(f.discount_left_micros)} of the {bonus} "
                         "Discount bonus is left and is forfeited")
        else:
            lines.append(f"The {bonus} Discount bonus of this top-up is already spent: "
                         "nothing to forfeit")
    if f.reward_status:
        # Never the referrer's name: that is another customer's data.
        lines.append("Revokes a referral reward linked to this top-up "
                     f"({money.format_usd_micros(f.reward_micros)}, {f.reward_status})")
    return tuple(lines)


def arrival_text(refund: Refund) -> str:
    """The expected arrival while Refunding, as the dialog and the Refunds section say
    it (else "")."""
    if refund.status != RefundStatus.REFUNDING:
        return ""
    first, last = business_days.arrival_dates(refund.requested_at)
    return f"Expected between {first:%a %Y-%m-%d} and {last:%a %Y-%m-%d}"


def refund_amount(refund: Refund) -> str:
    """What the customer receives: "$15.71", or "CNY 677.08 ($94.04)"."""
    return money.format_returned(refund.final_cents, refund.currency, refund.final_minor)


def refund_status(account_id: int, refund_id: int) -> RefundStatusView:
    """A refund's status as the dialog shows it (NotYourOrder if not the account's)."""
    with db.reading() as s:
        refund = s.get(Refund, refund_id)
        if refund is None or refund.account_id != account_id:
            raise quotes.NotYourOrder(f"no refund {refund_id} for this account")
    shown = shown_status(refund)
    words = policy.STATUS_WORDS[shown]
    changed = (refund.preview_final_cents is not None
               and refund.preview_final_cents != refund.final_cents)
    status = RefundStatus(refund.status)
    return RefundStatusView(
        refund_id=refund.id, refund_ref=refund.ref, status=status,
        pending=not status.terminal,  # not final yet: the dialog asks again
        label=words.label, description=words.description,
        color=STATUS_COLORS[shown], final=refund_amount(refund),
        arrival=arrival_text(refund),
        changed=changed,
        preview_final=money.format_usd(refund.preview_final_cents or 0),
        settled_final=money.format_usd(refund.final_cents),
    )
