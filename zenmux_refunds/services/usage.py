"""Recording billed API calls, and reading "usage since a payment".

Usage keeps running totals per account and per what it was billed to (credits or the
subscription). Each payment stores the total at the moment it was recorded, so the
usage since that payment is one subtraction, whatever the length of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db, metrics
from zenmux_refunds.config import ConfigError, parse_instant
from zenmux_refunds.domain import wallet
from zenmux_refunds.domain.vocabulary import LedgerKind
from zenmux_refunds.domain.money import MoneyError, parse_money
from zenmux_refunds.models import (Account, LedgerEntry, SubscriptionPayment, TopupOrder,
                                   UsageRecord, Wallet)
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
    and the others are recorded. Valid calls are grouped by account and applied in
    one transaction that takes each account's lock once (see :func:`apply_calls`).
    Raises UsageError only for a batch that is too long."""
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
    """Every batch passes here once it is applied: counted for /metrics."""
    metrics.usage_ingested(**result.counts())
    return result


def apply_calls(calls: list[Call]) -> list[Outcome]:
    """Apply checked calls; one Outcome per call, in order.

    Exactly what :func:`record` does call by call — running totals, the bonus-first
    draw, the ledger lines, a call id counted once (within the batch too: a repeated id
    is a duplicate of its first occurrence) — but for the whole batch at once: one
    transaction that takes each account's lock once (all of them in one statement, in
    id order, the order every service locks in), then one multi-row INSERT of usage
    records and one of ledger lines, whatever the number of calls and accounts.
    """
    if not calls:
        return []
    for attempt in range(3):
        try:
            return _apply(calls)
        except sa.exc.IntegrityError:
            # another transaction recorded one of these call ids for another account
            # between our duplicate check and our insert (the unique call_id refused
            # ours): again, and it is a duplicate now
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _apply(calls: list[Call]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(calls)
    with db.transaction() as s:
        # the accounts found, then locked (their usage totals read back)
        found, totals = _find_and_lock(s, {c.account_key for c in calls})
        groups: dict[int, list[int]] = {}
        first_of: dict[str, int] = {}
        repeats: list[tuple[int, int]] = []
        for i, c in enumerate(calls):
            hit = found.get(c.account_key)
            if hit is None:
                outcomes[i] = Outcome(c.call_id, recorded=False,
                                      error=f"account: no account {c.account_key!r}")
            elif c.call_id in first_of:
                repeats.append((i, first_of[c.call_id]))
            else:
                first_of[c.call_id] = i
                groups.setdefault(hit[0], []).append(i)
        if groups:
            fresh = _apply_groups(s, calls, groups, totals)
            for i in (i for indexes in groups.values() for i in indexes):
                c = calls[i]
                outcomes[i] = Outcome(c.call_id, recorded=True, duplicate=i not in fresh,
                                      account_ref=found[c.account_key][1])
    for i, first in repeats:
        outcomes[i] = Outcome(calls[i].call_id, recorded=True, duplicate=True,
                              account_ref=outcomes[first].account_ref)
    return outcomes  # type: ignore[return-value]


_ACCOUNT = Account.__table__
_WALLET = Wallet.__table__


def _find_and_lock(s: Session, keys: set[str]
                   ) -> tuple[dict[str, tuple[int, str]], dict[int, list[int]]]:
    """Each key's (account id, ref) — the account with that ref, else the one with that
    e-mail — and each found account's [credits, subscription] usage totals, read as
    its lock is taken: the same lock as ``ledger.lock_account`` (the row's
    lock_version bumped), all of them in one statement, and on PostgreSQL the rows
    locked in id order first, like ``ledger.lock_accounts``, so it cannot deadlock
    with an approval. The totals come from the locked rows (PostgreSQL re-reads a row
    it waited for)."""
    a = _ACCOUNT.c
    lowered = {k.lower() for k in keys}
    rows = s.execute(sa.select(a.id, a.ref, a.email)
                     .where(a.ref.in_(keys) | a.email.in_(lowered))).all()
    by_ref = {ref: (aid, ref) for aid, ref, _e in rows}
    by_email = {email: (aid, ref) for aid, ref, email in rows}
    found: dict[str, tuple[int, str]] = {}
    for key in keys:
        hit = by_ref.get(key) or by_email.get(key.lower())
        if hit is not None:
            found[key] = hit
    ids = sorted({aid for aid, _ref in found.values()})
    if not ids:
        return found, {}
    in_order = sa.select(a.id).where(a.id.in_(ids)).order_by(a.id).with_for_update()
    locked = s.execute(sa.update(_ACCOUNT).where(a.id.in_(in_order.scalar_subquery()))
                       .values(lock_version=a.lock_version + 1)
                       .returning(a.id, a.usage_credits_micros,
                                  a.usage_subscription_micros)).all()
    if len(locked) != len(ids):
        raise LookupError("an account of the batch was deleted")
    return found, {aid: [credits, sub] for aid, credits, sub in locked}


def _apply_groups(s: Session, calls: list[Call], groups: dict[int, list[int]],
                  totals: dict[int, list[int]]) -> set[int]:
    """Record the calls ``groups`` names (account id -> indexes into ``calls``, call ids
    distinct) on the locked accounts' usage ``totals``; the indexes of the calls that
    were new."""
    accounts = sorted(groups)
    recorded_at = clock.now(s)
    ids = [calls[i].call_id for account_id in accounts for i in groups[account_id]]
    seen = set(s.exec(select(UsageRecord.call_id).where(_among(s, UsageRecord.call_id, ids))).all())
    fresh = {i for indexes in groups.values() for i in indexes if calls[i].call_id not in seen}
    if not fresh:
        return fresh
    rows = []
    draws: list[tuple[int, Call]] = []
    for account_id in accounts:
        running = totals[account_id]
        for i in groups[account_id]:
            if i not in fresh:
                continue
            c = calls[i]
            slot = 0 if c.billed_to == CREDITS else 1
            running[slot] += c.amount_micros
            rows.append({"call_id": c.call_id, "account_id": account_id, "at": c.at,
                         "amount_micros": c.amount_micros, "billed_to": c.billed_to,
                         "running_total_micros": running[slot], "recorded_at": recorded_at})
            if slot == 0 and c.amount_micros:
                draws.append((account_id, c))
    usage_ids = _insert_calls(s, rows)
    if draws:
        _draw_all(s, draws, usage_ids)
    a = _ACCOUNT.c
    s.execute(sa.update(_ACCOUNT).where(a.id == sa.bindparam("aid"))
              .values(usage_credits_micros=sa.bindparam("credits"),
                      usage_subscription_micros=sa.bindparam("subscription")),
              [{"aid": aid, "credits": totals[aid][0], "subscription": totals[aid][1]}
               for aid in accounts])
    return fresh


def _draw_all(s: Session, draws: list[tuple[int, Call]], usage_ids: dict[str, int]) -> None:
    """The bonus-first draw of each credits call, in order, per account (as
    ``_draw_credits`` does one call at a time): its ledger lines, one multi-row INSERT
    for all, and each wallet moved by the sum of its lines."""
    w = _WALLET.c
    held = {aid: [bonus, topup] for aid, bonus, topup in s.execute(
        sa.select(w.account_id, w.bonus_micros, w.topup_micros)
        .where(w.account_id.in_({aid for aid, _c in draws}))).all()}
    missing = {aid for aid, _c in draws} - set(held)
    for aid in missing:
        held[aid] = [0, 0]
    lines = []
    for aid, c in draws:
        balance = held[aid]
        split = wallet.draw(c.amount_micros, bonus_micros=balance[0], topup_micros=balance[1],
                            allow_overdraw=True)
        for bucket, part in ((ledger.BONUS, split.from_bonus_micros),
                             (ledger.TOPUP, split.from_topup_micros)):
            if part:
                lines.append({"account_id": aid, "at": c.at, "bucket": bucket,
                              "amount_micros": -part, "kind": LedgerKind.USAGE.value,
                              "description": "API usage", "order_id": None, "refund_id": None,
                              "grant_id": None, "usage_id": usage_ids[c.call_id]})
        balance[0] -= split.from_bonus_micros
        balance[1] -= split.from_topup_micros
    _insert_many(s, LedgerEntry.__table__, lines)
    if missing:
        s.execute(sa.insert(_WALLET), [{"account_id": aid, "bonus_micros": held[aid][0],
                                        "topup_micros": held[aid][1]} for aid in sorted(missing)])
    present = sorted(set(held) - missing)
    if present:
        s.execute(sa.update(_WALLET).where(w.account_id == sa.bindparam("aid"))
                  .values(bonus_micros=sa.bindparam("bonus"), topup_micros=sa.bindparam("topup")),
                  [{"aid": aid, "bonus": held[aid][0], "topup": held[aid][1]} for aid in present])


def _insert_calls(s: Session, rows: list[dict]) -> dict[str, int]:
    """The batch's first write after its reads: one multi-row INSERT of the usage
    records (SQLAlchemy's "insertmanyvalues"), returning each call id's record id (the
    call id too: RETURNING does not promise the rows' order)."""
    table = UsageRecord.__table__
    return dict(_insert_many(s, table, rows, returning=(table.c.call_id, table.c.id)))


def _among(s: Session, column, values: list[str]):
    """``column IN values``; on PostgreSQL ``column IN (SELECT json_array_elements_text(
    <one JSON parameter>))``, one short statement for a thousand values instead of a
    thousand parameters. (Not ``= ANY(array)``: once the table was analyzed, PostgreSQL
    chose a sequential scan comparing every row with every element, 1 s a batch at
    30,000 rows; the sub-select is a semi-join on the unique index. Not an array
    parameter either: psycopg builds array literals in Python, element by element,
    which took a fifth of the JetStream consumer's time; ``json.dumps`` is C.)"""
    if s.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    listed = sa.func.json_array_elements_text(
        sa.cast(sa.bindparam(None, json.dumps(values), type_=sa.Text), sa.JSON))
    return column.in_(sa.select(listed).scalar_subquery())


def _json_value(value):
    """A value ``json.dumps`` does not know: an instant, in ISO 8601 with its offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a multi-row insert")


def _json_field_type(column: sa.Column, dialect) -> str:
    return ("timestamptz" if isinstance(column.type, sa.DateTime)
            else column.type.compile(dialect=dialect))


def _insert_many(s: Session, table: sa.Table, rows: list[dict], returning=()) -> list:
    """One multi-row INSERT of ``rows`` (all with the same keys).

    On PostgreSQL: ``INSERT … SELECT … FROM json_to_recordset(<the rows as one JSON
    parameter>)``, one parameter whatever the number of rows (SQLAlchemy's multi-row
    VALUES has one per value, and psycopg re-parses that long statement each time; one
    array per column made psycopg build the array literals in Python). An instant goes
    as ``timestamptz`` and is stored as psycopg stores a datetime bound to the column.
    Elsewhere (SQLite, in-process): SQLAlchemy's executemany."""
    if s.get_bind().dialect.name != "postgresql":
        stmt = sa.insert(table)
        if returning:
            return s.execute(stmt.returning(*returning), rows).all()
        s.execute(stmt, rows)
        return []
    dialect = s.get_bind().dialect
    names = list(rows[0])
    fields = ", ".join(f"{name} {_json_field_type(table.c[name], dialect)}" for name in names)
    listed = ", ".join(names)
    sql = (f"INSERT INTO {table.name} ({listed}) SELECT {listed} "
           f"FROM json_to_recordset(CAST(:rows AS json)) AS x({fields})")
    if returning:
        sql += " RETURNING " + ", ".join(c.name for c in returning)
    params = {"rows": json.dumps(rows, default=_json_value)}
    result = s.execute(sa.text(sql), params)
    return result.all() if returning else []
