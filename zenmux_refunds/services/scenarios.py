"""Loading a scenario into the database: replaying its world in time order.

``services.scenario_format`` reads and validates the file (``parse`` raises
``ScenarioError`` naming the first bad field; nothing has been written then). ``load``
replays the parsed world in time order inside one transaction (so a file that fails
half-way, e.g. by overdrawing a wallet, also leaves the database as it was): payments,
grants, usage drawn bonus-first, adjustments, existing refunds with their effects,
referral rewards granted when their order's window closes. Passwords are hashed; the
clock is anchored at the scenario's ``now``. The copy of the file kept for the demo's
Reset carries the hashes, never a plaintext password.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from zenmux_refunds import db
from zenmux_refunds.clock import real_now
from zenmux_refunds.config import settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.recorded_refund import recorded_refund
from zenmux_refunds.domain.vocabulary import (
    GrantKind,
    LedgerKind,
    OrderKind,
    RefundScope,
    RefundSource,
    RefundStatus,
    RewardStatus,
)
from zenmux_refunds.models import (
    Account,
    ClockSetting,
    CurrentPlan,
    Grant,
    ReferralReward,
    Refund,
    RefundEvent,
    SubscriptionPayment,
    TopupOrder,
    Wallet,
)
from zenmux_refunds.services import auth, ledger, refunds, rewards, usage
# ScenarioError, parse and read_file are also this module's names for its callers.
from zenmux_refunds.services.scenario_format import (
    AdjustmentIn,
    GrantIn,
    RefundIn,
    Scenario,
    ScenarioError,
    SubPayment,
    Topup,
    UsageIn,
    instant_of,
    parse,
    read_file,
)

CYCLE = timedelta(days=30)
REFERRAL_REWARD_MICROS = 5 * money.MICROS_PER_DOLLAR


@dataclass
class LoadResult:
    name: str
    now: datetime
    accounts: int
    orders: int
    refunds: int


def load(
    path_or_data: str | Path | dict,
    *,
    replace: bool = False,
    url: str | None = None,
    name: str | None = None,
) -> LoadResult:
    """Load a scenario into the database at ``url`` (default DATABASE_URL).

    The schema is migrated first. Without ``replace`` the database must be empty;
    with it, everything in it is replaced. All or nothing.
    """
    if isinstance(path_or_data, dict):
        data, name = path_or_data, name or "scenario"
    else:
        stem, data = read_file(path_or_data)
        name = name or stem
    parsed = parse(data)
    stored_copy = _without_passwords(data, parsed)
    db.upgrade(url)
    for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
        try:
            with db.transaction(url) as session:
                if replace:
                    _wipe(session)
                elif session.exec(select(Account.id).limit(1)).first() is not None:
                    raise ScenarioError("", "the database already holds data; load with "
                                            "--replace to replace it")
                result = _World(session, parsed).build()
                session.merge(ClockSetting(
                    id=1, anchor_at=parsed.now, anchored_real_at=real_now(),
                    offset_seconds=0, scenario_name=name,
                    scenario_json=json.dumps(stored_copy)))
            return LoadResult(name=name, now=parsed.now, **result)
        except sa.exc.OperationalError as exc:
            # PostgreSQL chose this replace's table locks to break a deadlock with a
            # writer (which then went on): nothing was changed, take them again
            if getattr(exc.orig, "sqlstate", None) != "40P01" or attempt == _DEADLOCK_ATTEMPTS:
                raise
            log.warning("scenario load: deadlock with a writer, attempt %d of %d",
                        attempt, _DEADLOCK_ATTEMPTS)
    raise AssertionError("unreachable")


_DEADLOCK_ATTEMPTS = 3
log = logging.getLogger(__name__)


def _without_passwords(data: dict, parsed: Scenario) -> dict:
    """The file as kept for the demo's Reset: each account's ``password`` replaced by
    its argon2 hash (the one its account row gets), so that no plaintext is stored."""
    for acct in parsed.accounts:
        if acct.password_hash is None:
            acct.password_hash = _password_hash(acct.password)
            acct.password = None
    kept = copy.deepcopy(data)
    for raw, acct in zip(kept["accounts"], parsed.accounts):
        raw.pop("password", None)
        raw["password_hash"] = acct.password_hash
    return kept


def reset_demo(url: str | None = None) -> LoadResult:
    """Load again the scenario that was last loaded (the demo's reset button)."""
    with db.reading(url) as session:
        setting = session.get(ClockSetting, 1)
        if setting is None or not setting.scenario_json:
            raise ScenarioError("", "no scenario has been loaded yet")
        data, name = json.loads(setting.scenario_json), setting.scenario_name
    return load(data, replace=True, url=url, name=name)


def _wipe(session: Session) -> None:
    """Empty every table, in this transaction. On PostgreSQL every table is locked
    first (one LOCK, before any row is touched): a writer mid-transaction (the
    background pass recording a refund's event) is waited for, and what it committed is
    then deleted with the rest, not left referencing a refund already deleted (the
    table-by-table DELETE saw the events before the writer committed, then failed on
    the refund). Writers that come later wait for the new world. SQLite's one write
    lock already serialises them."""
    import zenmux_refunds.models  # noqa: F401

    tables = SQLModel.metadata.sorted_tables  # parents first, as writers take them
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        session.execute(sa.text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    for table in reversed(tables):
        session.execute(sa.delete(table))


_hash_memo: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """argon2 hash of a scenario password, computed once per process and password
    (a hash is salted and costs ~0.1 s; reloading the demo would pay it every time)."""
    key = hashlib.sha256(password.encode("utf-8")).hexdigest()
    if key not in _hash_memo:
        _hash_memo[key] = auth.hash_password(password)
    return _hash_memo[key]


class _World:
    """Replays a parsed scenario into the database, in time order."""

    def __init__(self, session: Session, scenario: Scenario):
        self.s = session
        self.scenario = scenario
        self.now = scenario.now
        self.fee_percent = settings().fee_percent
        self.accounts: dict[str, Account] = {}
        self.subs: dict[str, SubscriptionPayment] = {}
        self.topups: dict[str, TopupOrder] = {}
        self.rewards: dict[int, ReferralReward] = {}  # order id -> reward

    def build(self) -> dict[str, int]:
        created = real_now()
        for a in self.scenario.accounts:
            account = Account(ref=a.ref, email=a.email, name=a.name, role=a.role,
                              password_hash=a.password_hash or _password_hash(a.password),
                              demo_persona=a.demo_persona, created_at=created)
            self.s.add(account)
            self.s.flush()
            self.s.add(Wallet(account_id=account.id))
            self.accounts[a.ref] = account
        self.s.flush()

        # (instant, tie-break, sequence, handler, account, item). At one instant usage
        # comes first (usage "after paid_at" is strict), then money in, then refunds.
        events: list[tuple] = []
        seq = 0
        for a in self.scenario.accounts:
            acct = self.accounts[a.ref]
            for kind, items, rank in (
                ("usage", a.usage, 0),
                ("sub", a.subscription_payments, 1),
                ("topup", a.topups, 1),
                ("grant", a.grants, 1),
                ("adjust", a.adjustments, 2),
                ("refund", a.refunds, 4),
            ):
                for item in items:
                    events.append((instant_of(item)[1], rank, seq, kind, acct, item))
                    seq += 1
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        # Referral rewards fall due while the timeline runs; a heap would do, but the
        # files are small: insert due events and re-sort as they appear.
        index = 0
        while index < len(events):
            at, _rank, _seq, kind, acct, item = events[index]
            getattr(self, f"_on_{kind}")(acct, item, at, events, index)
            index += 1
        self._set_plans()
        return {
            "accounts": len(self.accounts),
            "orders": len(self.subs) + len(self.topups),
            "refunds": sum(len(a.refunds) for a in self.scenario.accounts),
        }

    # -- handlers ---------------------------------------------------------------

    def _fail(self, path: str, problem: str) -> None:
        raise ScenarioError(path, problem)

    def _on_usage(self, acct: Account, item: UsageIn, at, events, index) -> None:
        call_id = f"scenario:{item.path}:{uuid.uuid4().hex[:8]}"
        try:
            usage.record(self.s, account=acct, call_id=call_id, at=at,
                         amount_micros=item.amount_micros, billed_to=item.billed_to,
                         recorded_at=at, allow_overdraw=False)
        except ledger.LedgerError:
            self._fail(f"{item.path}.amount", "this usage would overdraw the wallet "
                                              "(bonus and top-up credits)")

    def _on_sub(self, acct: Account, item: SubPayment, at, events, index) -> None:
        row = SubscriptionPayment(
            ref=item.ref, account_id=acct.id, plan=item.plan, amount_cents=item.amount_cents,
            currency=item.currency, channel=item.channel, status=item.status, gift=item.gift,
            paid_at=item.paid_at, cycle_ends_at=item.paid_at + CYCLE,
            usage_mark_micros=acct.usage_subscription_micros,
            provider_payment_id=f"pi_scenario_{item.ref}",
            provider_subscription_id=f"sub_scenario_{item.ref}",
        )
        self.s.add(row)
        self.s.flush()
        self.subs[item.ref] = row

    def _on_topup(self, acct: Account, item: Topup, at, events, index) -> None:
        row = TopupOrder(
            ref=item.ref, account_id=acct.id, amount_cents=item.amount_cents,
            charged_currency=item.charged_currency, charged_minor=item.charged_minor,
            channel=item.channel, status=item.status, paid_at=item.paid_at,
            bonus_micros=item.bonus_micros if item.status == "paid" else 0,
            usage_mark_micros=acct.usage_credits_micros,
            sandbox_outcome=item.sandbox_outcome,
            provider_payment_id=f"pay_scenario_{item.ref}",
        )
        self.s.add(row)
        self.s.flush()
        self.topups[item.ref] = row
        if item.status != "paid":
            return
        ledger.post(self.s, account_id=acct.id, bucket=ledger.TOPUP,
                    amount_micros=item.amount_cents * money.MICROS_PER_CENT, kind=LedgerKind.TOPUP,
                    at=at, description=f"Top-up {item.ref}", order_id=row.id)
        if item.bonus_micros:
            grant = Grant(account_id=acct.id, kind=GrantKind.DISCOUNT, amount_micros=item.bonus_micros,
                          at=at, order_id=row.id)
            self.s.add(grant)
            self.s.flush()
            ledger.post(self.s, account_id=acct.id, bucket=ledger.BONUS,
                        amount_micros=item.bonus_micros, kind=LedgerKind.DISCOUNT, at=at,
                        description=f"Discount bonus with {item.ref}", order_id=row.id,
                        grant_id=grant.id)
        if item.referrer is not None:
            due = item.paid_at + policy.WINDOW
            reward = ReferralReward(order_id=row.id, referrer_id=self.accounts[item.referrer].id,
                                    amount_micros=REFERRAL_REWARD_MICROS, status=RewardStatus.PENDING,
                                    due_at=due, updated_at=at)
            self.s.add(reward)
            self.s.flush()
            self.rewards[row.id] = reward
            if due <= self.now:
                events.append((due, 3, len(events), "reward", acct, reward))
                events[index + 1:] = sorted(events[index + 1:], key=lambda e: (e[0], e[1], e[2]))

    def _on_grant(self, acct: Account, item: GrantIn, at, events, index) -> None:
        grant = Grant(account_id=acct.id, kind=item.kind, amount_micros=item.amount_micros, at=at)
        self.s.add(grant)
        self.s.flush()
        ledger.post(self.s, account_id=acct.id, bucket=ledger.BONUS,
                    amount_micros=item.amount_micros, kind=item.kind, at=at,
                    description=f"{item.kind.capitalize()} credits", grant_id=grant.id)

    def _on_adjust(self, acct: Account, item: AdjustmentIn, at, events, index) -> None:
        try:
            ledger.post(self.s, account_id=acct.id, bucket=ledger.TOPUP,
                        amount_micros=item.amount_micros, kind=LedgerKind.ADJUSTMENT, at=at,
                        description=item.note)
        except ledger.LedgerError:
            self._fail(f"{item.path}.amount", "this adjustment would overdraw the top-up wallet")

    def _on_reward(self, acct: Account, reward: ReferralReward, at, events, index) -> None:
        rewards.grant(self.s, reward, at)

    def _on_refund(self, acct: Account, item: RefundIn, at, events, index) -> None:
        sub = self.subs.get(item.order)
        top = self.topups.get(item.order)
        order = sub or top
        prior = sum(
            r.gross_cents for r in self.s.exec(select(Refund).where(
                Refund.subscription_payment_id == order.id if sub else
                Refund.topup_order_id == order.id)).all()
            if r.status == RefundStatus.REFUNDED)
        amounts = recorded_refund(
            paid_cents=order.amount_cents, amount_cents=item.amount_cents,
            prior_refunded_cents=prior, fee_percent=self.fee_percent,
            charged_currency=top.charged_currency if top else "USD",
            charged_minor=top.charged_minor if top else None,
        )
        kind = OrderKind.SUBSCRIPTION if sub else OrderKind.TOPUP
        order_key = f"{kind}:{order.id}"
        is_open = item.status == RefundStatus.REFUNDING or (
            item.status == RefundStatus.REFUNDED and item.kind == RefundScope.FULL)
        refund = Refund(
            ref=item.ref, account_id=acct.id, order_kind=kind,
            subscription_payment_id=sub.id if sub else None,
            topup_order_id=top.id if top else None, kind=item.kind, status=item.status,
            open_key=order_key if is_open else None,
            usage_cents=amounts.usage_cents,
            gross_cents=amounts.gross_cents, fee_cents=amounts.fee_cents,
            final_cents=amounts.final_cents, currency=amounts.currency,
            final_minor=amounts.final_minor, idempotency_key=f"zr_{uuid.uuid4().hex}",
            source=RefundSource.SCENARIO, requested_at=at,
            settled_at=at if item.status != RefundStatus.REFUNDING else None,
        )
        self.s.add(refund)
        self.s.flush()
        self.s.add(RefundEvent(refund_id=refund.id, at=at, actor="scenario", action="loaded",
                               to_status=item.status,
                               detail=f"loaded from the scenario as {item.status}"))
        if item.status in (RefundStatus.REFUNDING, RefundStatus.REFUNDED) and top is not None:
            self._apply_topup_effects(acct, top, refund, item, at)

    def _apply_topup_effects(self, acct: Account, top: TopupOrder, refund: Refund,
                             item: RefundIn, at: datetime) -> None:
        try:
            refunds.apply_topup_effects(self.s, acct.id, top, refund,
                                        self.rewards.get(top.id), at)
        except ledger.LedgerError:
            self._fail(f"{item.path}.amount", "the top-up wallet does not hold this amount")

    def _set_plans(self) -> None:
        open_subs = {
            r.subscription_payment_id for r in self.s.exec(select(Refund).where(
                Refund.order_kind == OrderKind.SUBSCRIPTION, Refund.kind == RefundScope.FULL,
                Refund.status.in_((RefundStatus.REFUNDING, RefundStatus.REFUNDED)))).all()
        }
        for ref, acct in self.accounts.items():
            current = None
            for pay in sorted((p for p in self.subs.values() if p.account_id == acct.id),
                              key=lambda p: p.paid_at, reverse=True):
                if pay.status == "paid" and pay.cycle_ends_at > self.now \
                        and pay.id not in open_subs:
                    current = pay
                    break
            self.s.add(CurrentPlan(account_id=acct.id, plan=current.plan if current else "Free",
                                   payment_id=current.id if current else None,
                                   updated_at=self.now))
