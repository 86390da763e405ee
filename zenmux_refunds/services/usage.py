"""Recording billed API calls, and reading "usage since a payment".

Usage keeps running totals per account and per what it was billed to (credits or the
subscription). Each payment stores the total at the moment it was recorded, so the
usage since that payment is one subtraction, whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.config import ConfigError, parse_instant
from zenmux_refunds.domain import wallet
from zenmux_refunds.domain.vocabulary import LedgerKind
from zenmux_refunds.domain.money import MoneyError, parse_money
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
    split = wallet.draw(amount, bonus_micros=held.bonus_micros, topup_micros=held.topup_micros,
                        allow_overdraw=allow_overdraw)
    if isinstance(split, wallet.Refusal):
        raise ledger.LedgerError("usage would overdraw the wallet")
    if split.from_bonus_micros:
        ledger.post(session, account_id=account_id, bucket=ledger.BONUS,
                    amount_micros=-split.from_bonus_micros, kind=LedgerKind.USAGE, at=at,
                    description="API usage", usage_id=usage_id)
    if split.from_topup_micros:
        ledger.post(session, account_id=account_id, bucket=ledger.TOPUP,
                    amount_micros=-split.from_topup_micros, kind=LedgerKind.USAGE, at=at,
                    description="API usage", usage_id=usage_id, allow_negative=True)


def since_topup(account: Account, order: TopupOrder) -> int:
    """Credits consumed by the account after the order was paid (micro-dollars)."""
    return account.usage_credits_micros - order.usage_mark_micros


def since_subscription_payment(account: Account, payment: SubscriptionPayment) -> int:
    """Usage billed to the subscription since the payment opened its cycle."""
    return account.usage_subscription_micros - payment.usage_mark_micros


# ------------------------------------------------------------------------ the feed

MAX_CALL_ID = 128
MAX_ACCOUNT_KEY = 320  # an account ref, or an e-mail address (at most 254 characters)
MAX_AMOUNT_TEXT = 32  # characters of the amount string, checked before parsing it
MAX_AMOUNT_MICROS = 1_000_000 * 10**6  # $1,000,000.000000 for one call: far above any
#   real call, far below the 64-bit integers the database stores money in
EARLIEST_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_AT = datetime(2100, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Ingested:
    call_id: str
    duplicate: bool
    account_ref: str


def ingest(payload: object) -> Ingested:
    """Record one billed call reported by the gateway (SPEC §5).

    ``payload``: {"call_id", "account" (ref or e-mail), "amount" (USD, up to 6
    decimals, as a string), "billed_to" (credits | subscription, default credits),
    "at" (ISO 8601 instant)}. Raises UsageError naming the bad field; LookupError for
    an unknown account. The account's lock orders the call with refund approvals:
    a report either lands before an approval (and the approval settles with it) or
    after it (and counts against what is left), never lost and never twice.
    """
    if not isinstance(payload, dict):
        raise UsageError("body: expected a JSON object")
    unknown = sorted(set(payload) - {"call_id", "account", "amount", "billed_to", "at"})
    if unknown:
        raise UsageError(f"{unknown[0]}: unknown field")
    call_id = payload.get("call_id")
    if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > MAX_CALL_ID:
        raise UsageError(f"call_id: expected a non-empty string of at most {MAX_CALL_ID} characters")
    account_key = payload.get("account")
    if not isinstance(account_key, str) or not account_key.strip() \
            or len(account_key) > MAX_ACCOUNT_KEY:
        raise UsageError("account: expected the account's reference or e-mail "
                         f"(at most {MAX_ACCOUNT_KEY} characters)")
    raw_amount = payload.get("amount")
    if isinstance(raw_amount, str) and len(raw_amount) > MAX_AMOUNT_TEXT:
        raise UsageError(f"amount: too long (at most {MAX_AMOUNT_TEXT} characters)")
    raw_at = payload.get("at")
    if isinstance(raw_at, str) and len(raw_at) > 64:
        raise UsageError("at: too long for an ISO 8601 instant")
    try:
        amount = parse_money(raw_amount, places=6, field="amount")
        at = parse_instant(raw_at, field="at")
    except (MoneyError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 has no UTC equivalent
        raise UsageError("at: outside the range of representable instants") from None
    if amount > MAX_AMOUNT_MICROS:
        raise UsageError("amount: more than 1000000.000000 USD for one call")
    if not EARLIEST_AT <= at < LATEST_AT:
        raise UsageError("at: must be between 2000-01-01 and 2100-01-01 (UTC)")
    billed_to = payload.get("billed_to", CREDITS)
    if not isinstance(billed_to, str) or billed_to not in BILLED_TO:
        raise UsageError("billed_to: must be credits or subscription")
    key = account_key.strip()
    with db.transaction() as s:
        found = s.exec(select(Account.id, Account.ref).where(
            (Account.ref == key) | (Account.email == key.lower()))).first()
        if found is None:
            raise LookupError(f"account: no account {key!r}")
        account_id, account_ref = found
        ledger.lock_account(s, account_id)
        account = s.get(Account, account_id)
        s.refresh(account)
        result = record(s, account=account, call_id=call_id.strip(), at=at,
                        amount_micros=amount, billed_to=billed_to, recorded_at=clock.now(s))
    return Ingested(call_id.strip(), result.duplicate, account_ref)
