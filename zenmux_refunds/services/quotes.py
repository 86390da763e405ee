"""The refund preview of one order: gathers the stored facts and asks the policy.

Reads stored totals only (running usage totals, wallet balances, the order's refunds):
the cost of a quote does not grow with the account's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds.config import settings
from zenmux_refunds.domain import policy
from zenmux_refunds.domain.forfeits import REVOCABLE, discount_forfeit
from zenmux_refunds.domain.vocabulary import (
    Attention,
    GrantKind,
    OrderKind,
    RefundScope,
    RefundStatus,
)
from zenmux_refunds.models import (
    Account,
    Grant,
    ReferralReward,
    Refund,
    SubscriptionPayment,
    TopupOrder,
    Wallet,
)
from zenmux_refunds.services import ledger, usage

# The order kinds, as the members (callers that still say quotes.SUBSCRIPTION get the
# OrderKind member, which equals the string it always was).
SUBSCRIPTION = OrderKind.SUBSCRIPTION
TOPUP = OrderKind.TOPUP


class NotYourOrder(LookupError):
    """The order does not exist or belongs to someone else (deliberately the same)."""


@dataclass(frozen=True)
class Forfeits:
    discount_micros: int  # the order's Discount bonus
    discount_left_micros: int  # what of it would be forfeited now
    # A referral reward linked to the order that a refund would revoke. The referrer is
    # someone else: a customer's views never learn who (not even their name).
    reward_status: str | None  # pending | granted; None: no reward to revoke
    reward_micros: int


@dataclass(frozen=True)
class OrderQuote:
    kind: str
    order: sa.Row  # the SubscriptionPayment's or TopupOrder's row (read-only)
    decision: policy.Decision
    forfeits: Forfeits | None
    latest_refund: sa.Row | None  # the order's latest Refund row (read-only)
    # the wallet row read for a top-up quote (None otherwise, or when there is none).
    # Holding it keeps it in the session, so an approval's ledger posts in the same
    # transaction get it from the identity map instead of reading it again.
    wallet: Wallet | None = None
    discount_grant: sa.Row | None = None  # the order's Discount bonus grant's row, if any


# A quote's reads, compiled once and sent on the session's connection: the rows come
# back as read-only rows (attributes by column name), not ORM objects, which cost three
# times as much to load (a quote reads up to five; every preview, approval and billing
# row makes one). What a quote's caller changes (the wallet, the plan) is still read
# through the ORM; the approval writes a grant or a reward it read here with a statement
# of its own (db.write_through).
_REFUNDS = Refund.__table__
_ORDER_REFUNDS = {
    kind: sa.select(_REFUNDS).where(column == sa.bindparam("order_id")).order_by(_REFUNDS.c.id)
    for kind, column in ((SUBSCRIPTION, _REFUNDS.c.subscription_payment_id),
                         (TOPUP, _REFUNDS.c.topup_order_id))
}
_ORDER_BY_ID = {
    kind: sa.select(model.__table__).where(model.__table__.c.id == sa.bindparam("order_id"))
    for kind, model in ((SUBSCRIPTION, SubscriptionPayment), (TOPUP, TopupOrder))
}
_GRANTS = Grant.__table__
_DISCOUNT_GRANT = (sa.select(_GRANTS).where(_GRANTS.c.order_id == sa.bindparam("order_id"),
                                            _GRANTS.c.kind == GrantKind.DISCOUNT)
                   .order_by(_GRANTS.c.id).limit(1))
_REWARDS = ReferralReward.__table__
_ORDER_REWARD = sa.select(_REWARDS).where(_REWARDS.c.order_id == sa.bindparam("order_id"))


def _read(session: Session, statement, params: dict) -> sa.CursorResult:
    """``statement`` on the session's connection, after the session's pending changes
    (as the ORM's own reads autoflush): a row added or changed in this transaction is
    read as it now is."""
    session.flush()
    return session.connection().execute(statement, params)


def order_refunds(session: Session, kind: str, order_id: int) -> list[sa.Row]:
    """The order's refunds, oldest first (read-only rows)."""
    return list(_read(session, _ORDER_REFUNDS[kind], {"order_id": order_id}).all())


def order_reward(session: Session, order_id: int) -> sa.Row | None:
    """The top-up's referral reward (a read-only row), or None."""
    return _read(session, _ORDER_REWARD, {"order_id": order_id}).first()


def find_order(session: Session, account: Account, kind: str, order_id: int) -> sa.Row:
    """The account's order (a read-only row), or NotYourOrder (whoever else it
    belongs to)."""
    statement = _ORDER_BY_ID.get(kind)
    order = _read(session, statement, {"order_id": order_id}).first() \
        if statement is not None else None
    if order is None or order.account_id != account.id:
        raise NotYourOrder(f"no {kind} order {order_id} for this account")
    return order


def facts_for(session: Session, account: Account, kind: str, order, *,
              via_support: bool = False, refunds: list[Refund] | None = None,
              balances: ledger.Balances | None = None) -> policy.OrderFacts:
    """The order's facts for the policy. ``refunds`` (the order's refunds) and
    ``balances`` (the account's wallet): when the caller has just read them."""
    if refunds is None:
        refunds = order_refunds(session, kind, order.id)
    # A refund the provider paid after we had closed it (Canceled/Failed, flagged
    # "paid_after_close") is money out: it counts as refunded, resolved or not.
    paid = [r for r in refunds
            if r.status == RefundStatus.REFUNDED or r.attention == Attention.PAID_AFTER_CLOSE]
    common = dict(
        status=order.status,
        paid_cents=order.amount_cents,
        paid_at=order.paid_at,
        already_refunded_cents=sum(r.gross_cents for r in paid),
        refund_in_progress=any(r.status == RefundStatus.REFUNDING for r in refunds),
        full_refund_done=any(r.kind == RefundScope.FULL for r in paid),
    )
    if kind == SUBSCRIPTION:
        return policy.OrderFacts(kind=SUBSCRIPTION, gift=order.gift, channel=order.channel,
                                 usage_micros=max(usage.since_subscription_payment(account, order), 0),
                                 **common)
    return policy.OrderFacts(
        kind=TOPUP, channel=order.channel,
        usage_micros=max(usage.since_topup(account, order), 0),
        topup_balance_micros=(balances or ledger.balances(session, account.id)).topup_micros,
        charged_currency=order.charged_currency, charged_minor=order.charged_minor,
        via_support=via_support, **common,
    )


_UNREAD = object()


def discount_left(session: Session, order: TopupOrder, *, grant=_UNREAD,
                  balances: ledger.Balances | None = None) -> tuple[Grant | None, int]:
    """The order's Discount bonus grant and what a refund would forfeit of it now: the
    part not yet forfeited, up to the bonus balance that is left. ``grant`` (the
    order's Discount grant or None) and ``balances``: when the caller has read them in
    this transaction."""
    if grant is _UNREAD:
        grant = session.exec(
            select(Grant).where(Grant.order_id == order.id, Grant.kind == GrantKind.DISCOUNT)
        ).first()
    if grant is None:
        return None, 0
    bonus_now = (balances or ledger.balances(session, order.account_id)).bonus_micros
    return grant, discount_forfeit(granted_micros=grant.amount_micros,
                                   forfeited_micros=grant.forfeited_micros,
                                   bonus_micros=bonus_now)


def forfeits_for(session: Session, order: TopupOrder, *,
                 balances: ledger.Balances | None = None) -> Forfeits:
    return _forfeits(session, order, balances=balances)[0]


def _forfeits(session: Session, order: TopupOrder, *, balances: ledger.Balances | None,
              reward=_UNREAD, grant=_UNREAD) -> tuple[Forfeits, Grant | None]:
    grant, left = discount_left(session, order, balances=balances, grant=grant)
    if reward is _UNREAD:
        reward = order_reward(session, order.id)
    revocable = reward is not None and reward.status in REVOCABLE
    return Forfeits(
        discount_micros=grant.amount_micros if grant else 0,
        discount_left_micros=left,
        reward_status=reward.status if revocable else None,
        reward_micros=reward.amount_micros if revocable else 0,
    ), grant


def quote_order(session: Session, account: Account, kind: str, order_id: int,
                now: datetime, *, via_support: bool = False, reward=_UNREAD) -> OrderQuote:
    """The preview of ``account``'s order at ``now`` (NotYourOrder if not theirs).

    ``now`` is the instant the 24-hour window is judged at: the present, or when an
    e-mail request was submitted. Usage is always the latest stored total.
    ``reward``: the order's referral reward (or None), when the caller has read it in
    this transaction (the approval reads it first, to lock the referrer too).
    """
    # Re-read the account: its running usage totals are what the quote subtracts from.
    account = session.get(Account, account.id)
    order = find_order(session, account, kind, order_id)
    # Each row is read once (the order's refunds, the wallet): the facts, the forfeits
    # and the latest refund all come from the same reads.
    refunds = order_refunds(session, kind, order.id)
    wallet = session.get(Wallet, account.id) if kind == TOPUP else None
    balances = ledger.Balances(wallet.topup_micros, wallet.bonus_micros) if wallet \
        else ledger.Balances(0, 0)
    decision = policy.evaluate(facts_for(session, account, kind, order, via_support=via_support,
                                         refunds=refunds, balances=balances),
                               now=now, fee_percent=settings().fee_percent)
    if kind == TOPUP:
        grant = _read(session, _DISCOUNT_GRANT, {"order_id": order.id}).first()
        forfeits, grant = _forfeits(session, order, balances=balances, reward=reward,
                                    grant=grant)
    else:
        forfeits, grant = None, None
    return OrderQuote(
        kind=kind,
        order=order,
        decision=decision,
        forfeits=forfeits,
        latest_refund=refunds[-1] if refunds else None,
        wallet=wallet,
        discount_grant=grant,
    )


def order_id_by_ref(session: Session, account: Account, ref: str) -> tuple[str, int]:
    """(kind, id) of the account's order called ``ref`` (NotYourOrder otherwise)."""
    for kind, model in ((SUBSCRIPTION, SubscriptionPayment), (TOPUP, TopupOrder)):
        found = session.exec(
            select(model.id).where(model.ref == ref, model.account_id == account.id)
        ).first()
        if found is not None:
            return kind, found
    raise NotYourOrder(f"no order {ref} for this account")
