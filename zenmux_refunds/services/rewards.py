"""Referral rewards: pending while the referred top-up can still be refunded, granted
as Referral bonus credits to the referrer once its window has closed (SPEC §2.6)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.domain.vocabulary import GrantKind, LedgerKind, RewardStatus
from zenmux_refunds.models import Grant, ReferralReward, TopupOrder
from zenmux_refunds.services import ledger


def grant(session: Session, reward: ReferralReward, at: datetime) -> None:
    """Grant a pending reward now (the caller holds the referrer's lock)."""
    if reward.status != RewardStatus.PENDING:
        return
    row = Grant(account_id=reward.referrer_id, kind=GrantKind.REFERRAL,
                amount_micros=reward.amount_micros, at=at)
    session.add(row)
    session.flush()
    order_ref = session.exec(select(TopupOrder.ref).where(TopupOrder.id == reward.order_id)).one()
    ledger.post(session, account_id=reward.referrer_id, bucket=ledger.BONUS,
                amount_micros=reward.amount_micros, kind=LedgerKind.REFERRAL, at=at,
                description=f"Referral reward for {order_ref}", grant_id=row.id)
    reward.status, reward.grant_id, reward.updated_at = RewardStatus.GRANTED, row.id, at
    session.add(reward)


def grant_due(limit: int = 200) -> int:
    """Grant every pending reward whose order's window has closed; return how many."""
    with db.reading() as s:
        now = clock.now(s)
        due = s.exec(select(ReferralReward.id, ReferralReward.referrer_id)
                     .where(ReferralReward.status == RewardStatus.PENDING,
                            ReferralReward.due_at <= now)
                     .order_by(ReferralReward.id).limit(limit)).all()
    granted = 0
    for reward_id, referrer_id in due:
        with db.transaction() as s:
            ledger.lock_account(s, referrer_id)
            reward = s.get(ReferralReward, reward_id)
            now = clock.now(s)
            if reward.status == RewardStatus.PENDING and reward.due_at <= now:
                grant(s, reward, reward.due_at)
                granted += 1
    return granted
