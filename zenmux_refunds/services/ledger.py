"""The wallet ledger: every balance change is an entry, and the stored balances are
kept equal to the sum of the entries, in the same transaction.

Callers hold the account's lock (``lock_account``) before they post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import db
from zenmux_refunds.models import Account, LedgerEntry, Wallet

TOPUP = "topup"
BONUS = "bonus"


class LedgerError(ValueError):
    """A movement the wallet cannot take (it would overdraw a bucket)."""


_ACCOUNT = Account.__table__
_INSERT_ENTRY = LedgerEntry.__table__.insert()
# Compiled once, sent on the session's connection: the ORM's bulk UPDATE would also
# autoflush and look through the session's objects for the row (lock_version is read
# by nobody), for a statement every approval and usage report sends first.
_LOCK = (sa.update(_ACCOUNT).where(_ACCOUNT.c.id == sa.bindparam("locked_id"))
         .values(lock_version=_ACCOUNT.c.lock_version + 1))


def lock_account(session: Session, account_id: int) -> None:
    """Take the account's lock for the rest of the transaction.

    The first write of a transaction: a row lock on PostgreSQL, and on SQLite the
    database write lock (transactions there begin IMMEDIATE anyway). Every service
    that changes an account's money or usage takes it first, so that approvals and
    usage reports of one account are applied one after the other.
    """
    result = session.connection().execute(_LOCK, {"locked_id": account_id})
    if result.rowcount != 1:
        raise LookupError(f"no account with id {account_id}")


def lock_accounts(session: Session, account_ids: set[int]) -> None:
    """Lock several accounts in id order (a fixed order cannot deadlock)."""
    for account_id in sorted(account_ids):
        lock_account(session, account_id)


def wallet(session: Session, account_id: int) -> Wallet:
    found = session.get(Wallet, account_id)
    if found is None:
        found = Wallet(account_id=account_id, topup_micros=0, bonus_micros=0)
        session.add(found)
        session.flush()
    return found


def post(
    session: Session,
    *,
    account_id: int,
    bucket: str,
    amount_micros: int,
    kind: str,
    at: datetime,
    description: str = "",
    allow_negative: bool = False,
    order_id: int | None = None,
    refund_id: int | None = None,
    grant_id: int | None = None,
    usage_id: int | None = None,
) -> None:
    """Add one signed entry to a bucket and move the stored balance with it.

    Both are statements sent at once on the session's connection: the entry an
    INSERT (no ORM object: an approval or a usage report writes one or two, and nothing
    reads them back in the same transaction), the balance an UPDATE of the wallet,
    whose loaded row takes the new balance (``db.write_through``)."""
    if bucket not in (TOPUP, BONUS):
        raise ValueError(f"unknown wallet bucket {bucket!r}")
    if not isinstance(amount_micros, int) or isinstance(amount_micros, bool):
        raise TypeError("ledger amounts are integers of micro-dollars")
    held = wallet(session, account_id)
    field = "topup_micros" if bucket == TOPUP else "bonus_micros"
    new_balance = getattr(held, field) + amount_micros
    if new_balance < 0 and not allow_negative:
        raise LedgerError(
            f"{bucket} balance would become negative ({new_balance} micro-dollars)"
        )
    db.write_through(session, held, Wallet.__table__, {field: new_balance})
    if session.new:
        session.flush()  # rows the entry may reference (an order, a grant) exist first
    session.connection().execute(_INSERT_ENTRY, {
        "account_id": account_id, "at": at, "bucket": bucket, "amount_micros": amount_micros,
        "kind": kind, "description": description, "order_id": order_id,
        "refund_id": refund_id, "grant_id": grant_id, "usage_id": usage_id,
    })


@dataclass(frozen=True)
class Balances:
    topup_micros: int
    bonus_micros: int

    @property
    def total_micros(self) -> int:
        return self.topup_micros + self.bonus_micros


def balances(session: Session, account_id: int) -> Balances:
    held = session.get(Wallet, account_id)
    if held is None:
        return Balances(0, 0)
    return Balances(held.topup_micros, held.bonus_micros)


def ledger_sums(session: Session, account_id: int) -> Balances:
    """The balances recomputed from the entries (for checks and tests)."""
    rows = session.exec(
        select(LedgerEntry.bucket, sa.func.coalesce(sa.func.sum(LedgerEntry.amount_micros), 0))
        .where(LedgerEntry.account_id == account_id)
        .group_by(LedgerEntry.bucket)
    ).all()
    sums = {bucket: int(total) for bucket, total in rows}
    return Balances(sums.get(TOPUP, 0), sums.get(BONUS, 0))
