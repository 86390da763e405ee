"""Recording billed API calls, and reading "usage since a payment".

Usage keeps running totals per account and per what it was billed to (credits or the
subscription). Each payment stores the total at the moment it was recorded, so the
usage since that payment is one subtraction, whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from zenmux_refunds.models import Account, SubscriptionPayment, TopupOrder, UsageRecord
from zenmux_refunds.services import ledger

CREDITS = "credits"
SUBSCRIPTION = "subscription"
BILLED_TO = (CREDITS, SUBSCRIPTION)


class UsageError(ValueError):
    pass


@dataclass(frozen=True)
class Recorded:
    record: UsageRecord
    duplicate: bool


def record(
    session: Session,
    *,
    account: Account,
    call_id: str,
    at: datetime,
    amount_micros: int,
    billed_to: str,
    recorded_at: datetime,
    allow_overdraw: bool = True,
) -> Recorded:
    """Record one billed call, once per ``call_id``. The caller holds the account lock.

    Credits usage is drawn from bonus credits first, then top-up credits. A call that
    the gateway has already served is never refused: past an empty wallet the top-up
    balance goes negative, unless ``allow_overdraw`` is false (scenario loading).
    """
    if billed_to not in BILLED_TO:
        raise UsageError(f"billed_to must be credits or subscription, not {billed_to!r}")
    if amount_micros < 0:
        raise UsageError("usage amount cannot be negative")
    existing = session.exec(select(UsageRecord).where(UsageRecord.call_id == call_id)).first()
    if existing is not None:
        return Recorded(existing, duplicate=True)
    if billed_to == CREDITS:
        account.usage_credits_micros += amount_micros
        total = account.usage_credits_micros
    else:
        account.usage_subscription_micros += amount_micros
        total = account.usage_subscription_micros
    session.add(account)
    row = UsageRecord(
        call_id=call_id,
        account_id=account.id,
        at=at,
        amount_micros=amount_micros,
        billed_to=billed_to,
        running_total_micros=total,
        recorded_at=recorded_at,
    )
    session.add(row)
    session.flush()
    if billed_to == CREDITS and amount_micros:
        _draw_credits(session, account.id, amount_micros, at, row.id, allow_overdraw)
    return Recorded(row, duplicate=False)


def _draw_credits(
    session: Session, account_id: int, amount: int, at: datetime, usage_id: int,
    allow_overdraw: bool,
) -> None:
    held = ledger.wallet(session, account_id)
    from_bonus = min(amount, max(held.bonus_micros, 0))
    from_topup = amount - from_bonus
    if from_topup > held.topup_micros and not allow_overdraw:
        raise ledger.LedgerError("usage would overdraw the wallet")
    if from_bonus:
        ledger.post(session, account_id=account_id, bucket=ledger.BONUS,
                    amount_micros=-from_bonus, kind="usage", at=at,
                    description="API usage", usage_id=usage_id)
    if from_topup:
        ledger.post(session, account_id=account_id, bucket=ledger.TOPUP,
                    amount_micros=-from_topup, kind="usage", at=at,
                    description="API usage", usage_id=usage_id, allow_negative=True)


def since_topup(account: Account, order: TopupOrder) -> int:
    """Credits consumed by the account after the order was paid (micro-dollars)."""
    return account.usage_credits_micros - order.usage_mark_micros


def since_subscription_payment(account: Account, payment: SubscriptionPayment) -> int:
    """Usage billed to the subscription since the payment opened its cycle."""
    return account.usage_subscription_micros - payment.usage_mark_micros
