"""Recording billed API calls, and reading "usage since a payment".

Usage keeps running totals per account and per what it was billed to (credits or the
subscription). Each payment stores the total at the moment it was recorded, so the
usage since that payment is one subtraction, whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.config import ConfigError, parse_instant
from zenmux_refunds.domain import wallet
from zenmux_refunds.domain.vocabulary import LedgerKind
from zenmux_refunds.domain.money import MoneyError, parse_money
from zenmux_refunds.models import (Account, LedgerEntry, SubscriptionPayment, TopupOrder,
                                   UsageRecord)
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


@dataclass(frozen=True)
class Call:
    """One billed call as the gateway reports it, checked (see :func:`parse_call`)."""

    call_id: str
    account_key: str
    at: datetime
    amount_micros: int
    billed_to: str


def parse_call(payload: object) -> Call:
    """Check one reported call. Raises UsageError whose message starts with the bad
    field ("amount: …"); nothing is read from or written to the database."""
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
    return Call(call_id=call_id.strip(), account_key=account_key.strip(), at=at,
                amount_micros=amount, billed_to=billed_to)


def ingest(payload: object) -> Ingested:
    """Record one billed call reported by the gateway (SPEC §5).

    ``payload``: {"call_id", "account" (ref or e-mail), "amount" (USD, up to 6
    decimals, as a string), "billed_to" (credits | subscription, default credits),
    "at" (ISO 8601 instant)}. Raises UsageError naming the bad field; LookupError for
    an unknown account. The account's lock orders the call with refund approvals:
    a report either lands before an approval (and the approval settles with it) or
    after it (and counts against what is left), never lost and never twice.
    """
    call = parse_call(payload)
    outcome = apply_calls([call])[0]
    if outcome.error:
        raise LookupError(outcome.error)
    return Ingested(call.call_id, outcome.duplicate, outcome.account_ref)


# ------------------------------------------------------------------ batches

MAX_BATCH_CALLS = 1000
MAX_BATCH_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What became of one reported call: recorded (possibly as a duplicate of one
    already counted), or refused with ``error`` ("field: why"), nothing written."""

    call_id: str | None
    recorded: bool
    duplicate: bool = False
    error: str = ""
    account_ref: str = ""

    def as_json(self) -> dict:
        if self.error:
            return {"call_id": self.call_id, "error": self.error}
        return {"call_id": self.call_id, "recorded": True, "duplicate": self.duplicate}


@dataclass(frozen=True)
class BatchResult:
    """The outcomes of a batch, in the order the calls came. The counts are the one
    place to hang ingest metrics on (recorded / duplicate / rejected)."""

    outcomes: list[Outcome]

    @property
    def recorded(self) -> int:
        return sum(1 for o in self.outcomes if o.recorded and not o.duplicate)

    @property
    def duplicates(self) -> int:
        return sum(1 for o in self.outcomes if o.recorded and o.duplicate)

    @property
    def rejected(self) -> int:
        return sum(1 for o in self.outcomes if not o.recorded)

    def counts(self) -> dict[str, int]:
        return {"recorded": self.recorded, "duplicate": self.duplicates,
                "rejected": self.rejected}


def _echo_call_id(payload: object) -> str | None:
    """The call id to answer a refused call with: the one sent, when it is one."""
    if isinstance(payload, dict):
        value = payload.get("call_id")
        if isinstance(value, str) and 0 < len(value) <= MAX_CALL_ID:
            return value.strip()
    return None


def ingest_batch(payloads: list) -> BatchResult:
    """Record a batch of reported calls (``POST /api/usage/batch``, the JetStream
    consumer). Each call is checked on its own: a bad one is answered with its error
    and the others are recorded. Valid calls are grouped by account; each account's
    group is applied under the account's lock in one transaction (see
    :func:`apply_calls`). Raises UsageError only for a batch that is too long."""
    if len(payloads) > MAX_BATCH_CALLS:
        raise UsageError(f"calls: at most {MAX_BATCH_CALLS} calls per batch")
    outcomes: list[Outcome | None] = [None] * len(payloads)
    calls: list[Call] = []
    where: list[int] = []
    for i, payload in enumerate(payloads):
        try:
            calls.append(parse_call(payload))
            where.append(i)
        except UsageError as exc:
            outcomes[i] = Outcome(_echo_call_id(payload), recorded=False, error=str(exc))
    for i, outcome in zip(where, apply_calls(calls)):
        outcomes[i] = outcome
    return _counted(BatchResult(outcomes))  # type: ignore[arg-type]


def _counted(result: BatchResult) -> BatchResult:
    """Every batch passes here once it is applied: the hook for ingest metrics."""
    return result


def apply_calls(calls: list[Call]) -> list[Outcome]:
    """Apply checked calls; one Outcome per call, in order.

    Exactly what :func:`record` does call by call — running totals, the bonus-first
    draw, the ledger lines, a call id counted once (within the batch too: a repeated id
    is a duplicate of its first occurrence) — but per account: one lock, one
    transaction, one multi-row INSERT of usage records and one of ledger lines.
    Accounts are applied one after the other, so a batch never holds two locks.
    """
    if not calls:
        return []
    keys = {c.account_key for c in calls}
    with db.reading() as s:
        found = _accounts_for(s, keys)
        recorded_at = clock.now(s)
    outcomes: list[Outcome | None] = [None] * len(calls)
    groups: dict[int, list[int]] = {}
    first_of: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for i, c in enumerate(calls):
        hit = found.get(c.account_key)
        if hit is None:
            outcomes[i] = Outcome(c.call_id, recorded=False,
                                  error=f"account: no account {c.account_key!r}")
            continue
        if c.call_id in first_of:
            repeats.append((i, first_of[c.call_id]))
            continue
        first_of[c.call_id] = i
        groups.setdefault(hit[0], []).append(i)
    for account_id in sorted(groups):
        indexes = groups[account_id]
        duplicate = _apply_group_retrying(account_id, [calls[i] for i in indexes], recorded_at)
        ref = found[calls[indexes[0]].account_key][1]
        for i, dup in zip(indexes, duplicate):
            outcomes[i] = Outcome(calls[i].call_id, recorded=True, duplicate=dup,
                                  account_ref=ref)
    for i, first in repeats:
        outcomes[i] = Outcome(calls[i].call_id, recorded=True, duplicate=True,
                              account_ref=outcomes[first].account_ref)
    return outcomes  # type: ignore[return-value]


def _accounts_for(s: Session, keys: set[str]) -> dict[str, tuple[int, str]]:
    """Each key's (account id, ref): the account with that ref, else with that e-mail."""
    lowered = {k.lower() for k in keys}
    rows = s.exec(select(Account.id, Account.ref, Account.email).where(
        Account.ref.in_(keys) | Account.email.in_(lowered))).all()
    by_ref = {ref: (aid, ref) for aid, ref, _email in rows}
    by_email = {email: (aid, ref) for aid, ref, email in rows}
    out: dict[str, tuple[int, str]] = {}
    for key in keys:
        hit = by_ref.get(key) or by_email.get(key.lower())
        if hit is not None:
            out[key] = hit
    return out


def _apply_group_retrying(account_id: int, calls: list[Call], recorded_at: datetime,
                          attempts: int = 3) -> list[bool]:
    """``_apply_group``, again when another account's transaction recorded one of these
    call ids first (the unique call_id refuses ours; the retry sees it as a duplicate)."""
    for attempt in range(attempts):
        try:
            return _apply_group(account_id, calls, recorded_at)
        except sa.exc.IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _apply_group(account_id: int, calls: list[Call], recorded_at: datetime) -> list[bool]:
    """One account's calls (distinct call ids) in one transaction under its lock;
    for each call, whether it was a duplicate."""
    with db.transaction() as s:
        ledger.lock_account(s, account_id)
        account = s.get(Account, account_id)
        ids = [c.call_id for c in calls]
        seen = set(s.exec(select(UsageRecord.call_id).where(UsageRecord.call_id.in_(ids))).all())
        fresh = [c for c in calls if c.call_id not in seen]
        if not fresh:
            return [True] * len(calls)
        rows = []
        for c in fresh:
            if c.billed_to == CREDITS:
                account.usage_credits_micros += c.amount_micros
                total = account.usage_credits_micros
            else:
                account.usage_subscription_micros += c.amount_micros
                total = account.usage_subscription_micros
            rows.append({"call_id": c.call_id, "account_id": account_id, "at": c.at,
                         "amount_micros": c.amount_micros, "billed_to": c.billed_to,
                         "running_total_micros": total, "recorded_at": recorded_at})
        s.add(account)
        usage_ids = _insert_calls(s, rows)
        drawn = [(c, usage_ids[c.call_id]) for c in fresh
                 if c.billed_to == CREDITS and c.amount_micros]
        if drawn:
            held = ledger.wallet(s, account_id)
            bonus, topup = held.bonus_micros, held.topup_micros
            lines = []
            for c, uid in drawn:
                split = wallet.draw(c.amount_micros, bonus_micros=bonus, topup_micros=topup,
                                    allow_overdraw=True)
                for bucket, part in ((ledger.BONUS, split.from_bonus_micros),
                                     (ledger.TOPUP, split.from_topup_micros)):
                    if part:
                        lines.append({"account_id": account_id, "at": c.at, "bucket": bucket,
                                      "amount_micros": -part, "kind": LedgerKind.USAGE.value,
                                      "description": "API usage", "order_id": None,
                                      "refund_id": None, "grant_id": None, "usage_id": uid})
                bonus -= split.from_bonus_micros
                topup -= split.from_topup_micros
            s.execute(sa.insert(LedgerEntry.__table__), lines)
            held.bonus_micros, held.topup_micros = bonus, topup
            s.add(held)
    return [c.call_id in seen for c in calls]


def _insert_calls(s: Session, rows: list[dict]) -> dict[str, int]:
    """The group's first write after its reads: one multi-row INSERT of the usage
    records (SQLAlchemy's "insertmanyvalues"), returning each call id's record id (the
    call id too: RETURNING does not promise the rows' order)."""
    table = UsageRecord.__table__
    return dict(s.execute(sa.insert(table).returning(table.c.call_id, table.c.id), rows).all())
