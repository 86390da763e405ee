"""What Credits Management shows: balances with their breakdown, the Transactions list
(top-up orders and wallet movements, newest first, paginated in the database) and the
referral rewards the account earns as a referrer. Reads only, scoped to one account.

Each reader takes ``locale`` (``i18n.Locale``, English in UTC by default): the labels are
translated at display, money and instants go through the i18n formatters. A ledger
entry's description is stored in English by the service that wrote it; the known
shapes of it (``DESCRIPTIONS``) are translated when shown, anything else stays as
written."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import clock, db
from zenmux_refunds.domain.vocabulary import LedgerKind, OrderKind, RewardStatus
from zenmux_refunds.i18n import (
    ENGLISH,
    Locale,
    format_instant,
    format_instant_utc,
    format_paid,
    format_usd_micros,
    format_usd_movement,
    gettext,
    translate,
)
from zenmux_refunds.models import (
    Account,
    LedgerEntry,
    ReferralReward,
    Refund,
    TopupOrder,
)
from zenmux_refunds.services import billing, ledger, quotes, refund_record
from zenmux_refunds.services.views import (
    NO_BUTTON,
    NO_TAG,
    Balances,
    CreditsOverview,
    Page,
    RefundButton,
    RewardRow,
    StatusTag,
    TransactionRow,
)

# Ledger kinds as the customer reads them; "topup" entries are shown as their orders
# and per-call "usage" entries only in the breakdown (they are many).
KIND_LABELS = {
    LedgerKind.DISCOUNT: "Discount", LedgerKind.GIFT: "Gift", LedgerKind.REFERRAL: "Referral",
    LedgerKind.INSURANCE: "Insurance", LedgerKind.ADJUSTMENT: "Adjustment",
    LedgerKind.REFUND: "Refund", LedgerKind.REFUND_REVERSAL: "Refund reversed",
    LedgerKind.FORFEIT: "Forfeit", LedgerKind.FORFEIT_REVERSAL: "Forfeit reversed",
    LedgerKind.CLAWBACK: "Clawback", LedgerKind.CLAWBACK_REVERSAL: "Clawback reversed",
    LedgerKind.USAGE: "Usage", LedgerKind.TOPUP: "Top-up",
}
BREAKDOWN = [
    ("Top-ups", (LedgerKind.TOPUP,)),
    ("Bonuses (Discount)", (LedgerKind.DISCOUNT,)),
    ("Gifts", (LedgerKind.GIFT,)),
    ("Referrals", (LedgerKind.REFERRAL,)),
    ("Compensations (Insurance)", (LedgerKind.INSURANCE,)),
    ("Adjustments", (LedgerKind.ADJUSTMENT,)),
    ("Usage", (LedgerKind.USAGE,)),
    ("Refunds", (LedgerKind.REFUND, LedgerKind.REFUND_REVERSAL)),
    ("Forfeits", (LedgerKind.FORFEIT, LedgerKind.FORFEIT_REVERSAL, LedgerKind.CLAWBACK,
                  LedgerKind.CLAWBACK_REVERSAL)),
]
_LISTED_OUT = (LedgerKind.TOPUP, LedgerKind.USAGE)
REWARD_COLORS = {RewardStatus.PENDING: "blue", RewardStatus.GRANTED: "green",
                 RewardStatus.REVOKED: "gray"}
# The descriptions the services write on ledger entries (refunds, rewards, scenarios,
# usage), as msgids with the parts that vary named: matched whole, outermost first.
DESCRIPTIONS = tuple((re.compile(pattern), msgid) for pattern, msgid in (
    (r"Reversal: (?P<description>.+)", "Reversal: {description}"),
    (r"Refund (?P<refund>\S+) of (?P<order>\S+)", "Refund {refund} of {order}"),
    (r"Discount bonus of (?P<order>\S+) forfeited", "Discount bonus of {order} forfeited"),
    (r"Referral reward for (?P<order>\S+) clawed back",
     "Referral reward for {order} clawed back"),
    (r"Referral reward for (?P<order>\S+)", "Referral reward for {order}"),
    (r"Top-up (?P<ref>\S+)", "Top-up {ref}"),
    (r"Discount bonus with (?P<ref>\S+)", "Discount bonus with {ref}"),
    (r"(Gift|Referral|Insurance|Discount) credits|API usage", None),
))


def description_words(description: str, locale: Locale = ENGLISH) -> str:
    """A stored ledger description in the customer's language (as stored in English,
    and when its shape is not one of ``DESCRIPTIONS``)."""
    if locale.lang == ENGLISH.lang:
        return description
    for pattern, msgid in DESCRIPTIONS:
        found = pattern.fullmatch(description)
        if found is None:
            continue
        if msgid is None:
            return gettext(description, locale.lang)
        parts = found.groupdict()
        if "description" in parts:
            parts["description"] = description_words(parts["description"], locale)
        return translate(msgid, locale.lang, **parts)
    return description


def balances(account_id: int, locale: Locale = ENGLISH) -> CreditsOverview:
    with db.reading() as s:
        held = ledger.balances(s, account_id)
        sums = dict(s.exec(select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_micros))
                           .where(LedgerEntry.account_id == account_id)
                           .group_by(LedgerEntry.kind)).all())
    lang = locale.lang
    return CreditsOverview(
        balances=Balances(
            total=format_usd_micros(held.total_micros, lang),
            topup=format_usd_micros(held.topup_micros, lang),
            bonus=format_usd_micros(held.bonus_micros, lang),
        ),
        breakdown=tuple((gettext(label, lang),
                         _signed(sum(int(sums.get(k, 0) or 0) for k in kinds), locale))
                        for label, kinds in BREAKDOWN),
    )


def _signed(micros: int, locale: Locale = ENGLISH) -> str:
    """A movement to the cent, rounded toward zero, with its sign."""
    return format_usd_movement(micros, locale.lang)


def transactions(account_id: int, page: int = 1, page_size: int = 20,
                 locale: Locale = ENGLISH) -> Page[TransactionRow]:
    """One page of the account's transactions, newest first."""
    page, page_size = billing.page_bounds(page, page_size)
    orders = (select(TopupOrder.paid_at.label("at"), sa.literal(1).label("src"),
                     TopupOrder.id.label("id"))
              .where(TopupOrder.account_id == account_id))
    entries = (select(LedgerEntry.at.label("at"), sa.literal(0).label("src"),
                      LedgerEntry.id.label("id"))
               .where(LedgerEntry.account_id == account_id,
                      LedgerEntry.kind.not_in(_LISTED_OUT)))
    both = sa.union_all(orders, entries).subquery()
    with db.reading() as s:
        account = s.get(Account, account_id)
        now = clock.now(s)
        total = s.exec(select(sa.func.count()).select_from(both)).one()
        keys = s.exec(select(both.c.src, both.c.id)
                      .order_by(both.c.at.desc(), both.c.src.desc(), both.c.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
        order_ids = [i for src, i in keys if src == 1]
        entry_ids = [i for src, i in keys if src == 0]
        order_rows = {o.id: o for o in s.exec(select(TopupOrder).where(TopupOrder.id.in_(order_ids))).all()}
        entry_rows = {e.id: e for e in s.exec(select(LedgerEntry).where(LedgerEntry.id.in_(entry_ids))).all()}
        latest = billing.latest_refunds(s, OrderKind.TOPUP, order_ids)
        refund_ids = {e.refund_id for e in entry_rows.values() if e.refund_id}
        refund_rows = {r.id: r for r in s.exec(select(Refund).where(Refund.id.in_(refund_ids))).all()}
        rows, expired = [], billing.ExpiredWording(locale)
        for src, row_id in keys:
            if src == 1:
                order = order_rows[row_id]
                decision = quotes.quote_order(s, account, OrderKind.TOPUP, order.id, now).decision
                rows.append(_order_row(order, latest.get(order.id), decision, expired,
                                       locale))
            else:
                entry = entry_rows[row_id]
                rows.append(_entry_row(entry, refund_rows.get(entry.refund_id), locale))
    return Page(rows, total, page, page_size)


def _transaction_row(*, key: str, id: int, date: str, ref: str, amount: str, type: str,
                     description: str, is_order: bool, tag: StatusTag,
                     button: RefundButton, returned: str = "",
                     reason_tag: str = "", date_utc: str = "") -> TransactionRow:
    return TransactionRow(
        key=key, id=id, date=date, ref=ref, amount=amount, type=type,
        description=description, is_order=is_order, tag=tag.tag, tag_color=tag.tag_color,
        can_refund=button.can_refund, reason=button.reason, gift=button.gift,
        email_link=button.email_link, returned=returned, reason_tag=reason_tag,
        date_utc=date_utc, waiting=tag.waiting,
    )


def _order_row(order: TopupOrder, refund: Refund | None, decision,
               expired: billing.ExpiredWording, locale: Locale = ENGLISH) -> TransactionRow:
    lang = locale.lang
    amount = format_paid(order.amount_cents, order.charged_currency, order.charged_minor, lang)
    button = billing.button_state(decision, locale)
    return _transaction_row(
        key=f"order-{order.id}", id=order.id,
        date=format_instant(order.paid_at, lang, locale.tz),
        ref=order.ref, amount=amount, type=_channel_label(order.channel, locale),
        description=(translate("Top-up · {status}", lang, status=gettext(order.status, lang))
                     if order.status != "paid" else gettext("Top-up", lang)),
        is_order=True, tag=billing.status_tag(refund, locale), button=button,
        reason_tag=expired.tag(button), date_utc=format_instant_utc(order.paid_at, lang),
    )


def _channel_label(channel: str, locale: Locale = ENGLISH) -> str:
    return {"stripe": "Stripe", "antom": "Antom"}.get(
        channel, billing.method_label(channel, locale))


def _entry_row(entry: LedgerEntry, refund: Refund | None,
               locale: Locale = ENGLISH) -> TransactionRow:
    # a refund's debit is the refundable amount; beside it, what the customer gets back
    # (the fee is the difference), so the fee is never invisible
    refund_line = entry.kind == LedgerKind.REFUND and refund is not None
    lang = locale.lang
    return _transaction_row(
        key=f"entry-{entry.id}", id=entry.id, date=format_instant(entry.at, lang, locale.tz),
        ref=refund.ref if refund else "", amount=_signed(entry.amount_micros, locale),
        type=gettext(KIND_LABELS.get(entry.kind, entry.kind.replace("_", " ").capitalize()),
                     lang),
        description=description_words(entry.description, locale), is_order=False,
        tag=(billing.status_tag(refund, locale) if entry.kind == LedgerKind.REFUND
             else NO_TAG),
        button=NO_BUTTON,
        returned=refund_record.returned_words(refund, locale) if refund_line else "",
        date_utc=format_instant_utc(entry.at, lang),
    )


def referral_rewards(account_id: int, locale: Locale = ENGLISH) -> list[RewardRow]:
    """Rewards this account earns as a referrer (whose customers stay unnamed but for
    their display name, and whose orders stay theirs)."""
    with db.reading() as s:
        rows = s.exec(select(ReferralReward, TopupOrder.paid_at, Account.name)
                      .join(TopupOrder, TopupOrder.id == ReferralReward.order_id)
                      .join(Account, Account.id == TopupOrder.account_id)
                      .where(ReferralReward.referrer_id == account_id)
                      .order_by(ReferralReward.id.desc()).limit(50)).all()
    lang, tz = locale.lang, locale.tz
    return [RewardRow(
        amount=format_usd_micros(reward.amount_micros, lang),
        status=gettext(reward.status.capitalize(), lang),
        color=REWARD_COLORS[reward.status],
        description=translate("Referred top-up by {name} on {date}", lang, name=name,
                              date=format_instant(paid_at, lang, tz)),
        due=format_instant(reward.due_at, lang, tz),
        pending=reward.status == RewardStatus.PENDING,
        due_utc=format_instant_utc(reward.due_at, lang),
    ) for reward, paid_at, name in rows]
