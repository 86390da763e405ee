"""Loading a scenario file (see shared/scenario-format.md) into the database.

Two phases. ``parse`` validates the whole file into plain values and raises
``ScenarioError`` naming the first bad field (``accounts[3].topups[1].paid_at``);
nothing has been written then. ``load`` replays the parsed world in time order inside
one transaction (so a file that fails half-way, e.g. by overdrawing a wallet, also
leaves the database as it was): payments, grants, usage drawn bonus-first, adjustments,
existing refunds with their effects, referral rewards granted when their order's
window closes. Passwords are hashed; the clock is anchored at the scenario's ``now``.

ZenMux extensions to the shared format, per account: ``password_hash`` (an argon2 hash)
in place of ``password``, and ``demo_persona`` (default true: one-click sign-in may use
the account in demo mode). The copy of the file kept for the demo's Reset carries the
hashes, never a plaintext password.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from sqlmodel import Session, SQLModel, select

from zenmux_refunds import db
from zenmux_refunds.clock import real_now
from zenmux_refunds.config import PROJECT_ROOT, ConfigError, parse_instant, settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain.recorded_refund import recorded_refund
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

SCENARIO_DIR = PROJECT_ROOT / "scenarios"
CYCLE = timedelta(days=30)
REFERRAL_REWARD_MICROS = 5 * money.MICROS_PER_DOLLAR
PLANS = ("Pro", "Max", "Ultra")
PAYMENT_STATUSES = ("paid", "pending", "failed")
REFUND_STATUSES = ("refunding", "refunded", "failed", "canceled")
GRANT_KINDS = ("gift", "referral", "insurance")


class ScenarioError(ValueError):
    """The scenario cannot be loaded; ``field`` names where (JSON path)."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


# ---------------------------------------------------------------- parsed values


@dataclass
class SubPayment:
    path: str
    ref: str
    plan: str
    amount_cents: int
    currency: str
    channel: str
    paid_at: datetime
    status: str
    gift: bool


@dataclass
class Topup:
    path: str
    ref: str
    amount_cents: int
    charged_currency: str
    charged_minor: int
    channel: str
    paid_at: datetime
    status: str
    bonus_micros: int
    referrer: str | None
    sandbox_outcome: str


@dataclass
class GrantIn:
    path: str
    kind: str
    amount_micros: int
    at: datetime


@dataclass
class UsageIn:
    path: str
    at: datetime
    amount_micros: int
    billed_to: str


@dataclass
class AdjustmentIn:
    path: str
    at: datetime
    amount_micros: int
    note: str


@dataclass
class RefundIn:
    path: str
    ref: str
    order: str
    amount_cents: int
    kind: str
    status: str
    requested_at: datetime


@dataclass
class AccountIn:
    path: str
    ref: str
    email: str
    name: str
    password: str | None  # plaintext from the file (hashed before anything is stored)
    password_hash: str | None  # an argon2 hash from the file, or the hash of ``password``
    role: str
    demo_persona: bool
    subscription_payments: list[SubPayment] = field(default_factory=list)
    topups: list[Topup] = field(default_factory=list)
    grants: list[GrantIn] = field(default_factory=list)
    usage: list[UsageIn] = field(default_factory=list)
    adjustments: list[AdjustmentIn] = field(default_factory=list)
    refunds: list[RefundIn] = field(default_factory=list)


@dataclass
class Scenario:
    now: datetime
    accounts: list[AccountIn]


# ---------------------------------------------------------------- parsing


class _Reader:
    """Reads one JSON object, naming every problem by its path."""

    def __init__(self, obj: Any, path: str, allowed: set[str]):
        if not isinstance(obj, dict):
            raise ScenarioError(path, "expected an object")
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise ScenarioError(f"{path}.{unknown[0]}" if path else unknown[0],
                                "unknown field (check its spelling)")
        self.obj = obj
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: Any, required: bool) -> Any:
        if key not in self.obj or self.obj[key] is None:
            if required:
                raise ScenarioError(self.at(key), "is required")
            return default
        return self.obj[key]

    def text(self, key: str, *, required: bool = True, default: str | None = None,
             choices: tuple[str, ...] | None = None) -> str:
        value = self._get(key, default, required)
        if value is None:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ScenarioError(self.at(key), "expected a non-empty string")
        if choices is not None and value not in choices:
            raise ScenarioError(self.at(key), f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, default, False)
        if not isinstance(value, bool):
            raise ScenarioError(self.at(key), "expected true or false")
        return value

    def instant(self, key: str) -> datetime:
        value = self._get(key, None, True)
        try:
            return parse_instant(value, field=self.at(key))
        except ConfigError as exc:
            raise ScenarioError(self.at(key), str(exc).split(": ", 1)[-1]) from None

    def money(self, key: str, *, places: int, required: bool = True,
              allow_negative: bool = False, default: int = 0) -> int:
        value = self._get(key, None, required)
        if value is None:
            return default
        try:
            return money.parse_money(value, places=places, field=self.at(key),
                                     allow_negative=allow_negative)
        except money.MoneyError as exc:
            raise ScenarioError(self.at(key), str(exc).split(": ", 1)[-1]) from None

    def items(self, key: str) -> list[tuple[str, Any]]:
        value = self._get(key, [], False)
        if not isinstance(value, list):
            raise ScenarioError(self.at(key), "expected a list")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]


def _positive(path: str, value: int) -> int:
    if value <= 0:
        raise ScenarioError(path, "must be greater than zero")
    return value


def parse(data: Any) -> Scenario:
    """Validate a scenario (already decoded from JSON) without touching the database."""
    top = _Reader(data, "", {"now", "accounts"})
    now = top.instant("now")
    accounts: list[AccountIn] = []
    refs: dict[str, str] = {}
    emails: dict[str, str] = {}

    def claim_ref(ref: str, path: str) -> None:
        if ref in refs:
            raise ScenarioError(path, f"ref {ref!r} is already used at {refs[ref]}")
        refs[ref] = path

    account_paths = top.items("accounts")
    if not account_paths:
        raise ScenarioError("accounts", "must list at least one account")
    for path, raw in account_paths:
        r = _Reader(raw, path, {"ref", "email", "name", "password", "password_hash", "role",
                                "demo_persona", "subscription_payments", "topups", "grants",
                                "usage", "adjustments", "refunds"})
        password_hash = _argon2_hash(r)
        acct = AccountIn(
            path=path,
            ref=r.text("ref"),
            email=r.text("email").strip().lower(),
            name=r.text("name"),
            password=r.text("password") if password_hash is None else None,
            password_hash=password_hash,
            role=r.text("role", required=False, default=auth.CUSTOMER, choices=auth.ROLES),
            demo_persona=r.flag("demo_persona", default=True),
        )
        claim_ref(acct.ref, r.at("ref"))
        if "@" not in acct.email:
            raise ScenarioError(r.at("email"), f"{acct.email!r} is not an e-mail address")
        if acct.email in emails:
            raise ScenarioError(r.at("email"), f"{acct.email!r} is already used at {emails[acct.email]}")
        emails[acct.email] = r.at("email")

        for ppath, praw in r.items("subscription_payments"):
            p = _Reader(praw, ppath, {"ref", "plan", "amount", "currency", "channel",
                                      "paid_at", "status", "gift"})
            pay = SubPayment(
                path=ppath, ref=p.text("ref"), plan=p.text("plan", choices=PLANS),
                amount_cents=_positive(p.at("amount"), p.money("amount", places=2)),
                currency=p.text("currency", required=False, default="USD", choices=("USD",)),
                channel=p.text("channel", required=False, default="stripe", choices=("stripe",)),
                paid_at=p.instant("paid_at"),
                status=p.text("status", choices=PAYMENT_STATUSES),
                gift=p.flag("gift"),
            )
            claim_ref(pay.ref, p.at("ref"))
            acct.subscription_payments.append(pay)

        for tpath, traw in r.items("topups"):
            t = _Reader(traw, tpath, {"ref", "amount", "charged", "channel", "paid_at",
                                      "status", "bonus", "referrer", "sandbox_outcome"})
            amount = _positive(t.at("amount"), t.money("amount", places=2))
            currency, charged_minor = "USD", amount
            if t.obj.get("charged") is not None:
                c = _Reader(t.obj["charged"], t.at("charged"), {"currency", "amount"})
                currency = c.text("currency").upper()
                try:
                    exponent = money.currency_exponent(currency, field=c.at("currency"))
                except money.MoneyError as exc:
                    raise ScenarioError(c.at("currency"), str(exc).split(": ", 1)[-1]) from None
                charged_minor = _positive(c.at("amount"), c.money("amount", places=exponent))
                if currency == "USD" and charged_minor != amount:
                    raise ScenarioError(c.at("amount"), "a USD charge must equal the amount")
            top_up = Topup(
                path=tpath, ref=t.text("ref"), amount_cents=amount,
                charged_currency=currency, charged_minor=charged_minor,
                channel=t.text("channel").strip().lower(),
                paid_at=t.instant("paid_at"),
                status=t.text("status", choices=PAYMENT_STATUSES),
                bonus_micros=t.money("bonus", places=2, required=False) * money.MICROS_PER_CENT,
                referrer=t.text("referrer", required=False),
                sandbox_outcome=t.text("sandbox_outcome", required=False, default="succeed",
                                       choices=("succeed", "fail")),
            )
            claim_ref(top_up.ref, t.at("ref"))
            acct.topups.append(top_up)

        for gpath, graw in r.items("grants"):
            g = _Reader(graw, gpath, {"kind", "amount", "at"})
            acct.grants.append(GrantIn(
                path=gpath, kind=g.text("kind", choices=GRANT_KINDS),
                amount_micros=_positive(g.at("amount"), g.money("amount", places=6)),
                at=g.instant("at"),
            ))

        for upath, uraw in r.items("usage"):
            u = _Reader(uraw, upath, {"at", "amount", "billed_to"})
            acct.usage.append(UsageIn(
                path=upath, at=u.instant("at"),
                amount_micros=_positive(u.at("amount"), u.money("amount", places=6)),
                billed_to=u.text("billed_to", required=False, default=usage.CREDITS,
                                 choices=usage.BILLED_TO),
            ))

        for apath, araw in r.items("adjustments"):
            a = _Reader(araw, apath, {"at", "amount", "note"})
            amount = a.money("amount", places=6, allow_negative=True)
            if amount == 0:
                raise ScenarioError(a.at("amount"), "must not be zero")
            acct.adjustments.append(AdjustmentIn(
                path=apath, at=a.instant("at"), amount_micros=amount,
                note=a.text("note", required=False, default="Adjustment"),
            ))

        for fpath, fraw in r.items("refunds"):
            f = _Reader(fraw, fpath, {"ref", "order", "amount", "kind", "status", "requested_at"})
            refund = RefundIn(
                path=fpath, ref=f.text("ref"), order=f.text("order"),
                amount_cents=_positive(f.at("amount"), f.money("amount", places=2)),
                kind=f.text("kind", required=False, default="full", choices=("full", "partial")),
                status=f.text("status", choices=REFUND_STATUSES),
                requested_at=f.instant("requested_at"),
            )
            claim_ref(refund.ref, f.at("ref"))
            acct.refunds.append(refund)
        accounts.append(acct)

    _check_links(accounts)
    for acct in accounts:
        for items in (acct.subscription_payments, acct.topups, acct.grants, acct.usage,
                      acct.adjustments, acct.refunds):
            for item in items:
                name, at = _instant(item)
                if at > now:
                    raise ScenarioError(f"{item.path}.{name}", "is later than the scenario's now")
    return Scenario(now=now, accounts=accounts)


def _argon2_hash(r: _Reader) -> str | None:
    """The account's ``password_hash`` (an argon2 hash string), or None if not given."""
    if r.obj.get("password_hash") is None:
        return None
    if r.obj.get("password") is not None:
        raise ScenarioError(r.at("password_hash"), "give a password or a password_hash, not both")
    value = r.obj["password_hash"]
    if not isinstance(value, str):
        raise ScenarioError(r.at("password_hash"), "expected a string (an argon2 hash)")
    try:
        if not value.startswith("$argon2") or len(value) > 255:
            raise InvalidHashError
        extract_parameters(value)
    except InvalidHashError:
        raise ScenarioError(r.at("password_hash"),
                            "expected an argon2 hash like $argon2id$v=19$m=...$...$...") from None
    return value


def _instant(item) -> tuple[str, datetime]:
    """The field that dates a record, and its value."""
    for name in ("paid_at", "requested_at", "at"):
        if hasattr(item, name):
            return name, getattr(item, name)
    raise TypeError(f"{type(item).__name__} has no instant")


def _check_links(accounts: list[AccountIn]) -> None:
    """References between records: referrers, refunded orders, amounts."""
    account_refs = {a.ref for a in accounts}
    for acct in accounts:
        orders: dict[str, SubPayment | Topup] = {p.ref: p for p in acct.subscription_payments}
        orders.update({t.ref: t for t in acct.topups})
        for t in acct.topups:
            if t.referrer is not None:
                if t.referrer not in account_refs:
                    raise ScenarioError(f"{t.path}.referrer", f"no account has ref {t.referrer!r}")
                if t.referrer == acct.ref:
                    raise ScenarioError(f"{t.path}.referrer", "an account cannot refer itself")
        released: dict[str, int] = {}
        blocking: dict[str, str] = {}
        for refund in sorted(acct.refunds, key=lambda x: x.requested_at):
            order = orders.get(refund.order)
            if order is None:
                raise ScenarioError(f"{refund.path}.order",
                                    f"{refund.order!r} is not an order of account {acct.ref!r}")
            if order.status != "paid":
                raise ScenarioError(f"{refund.path}.order",
                                    f"{refund.order!r} was not paid, so it cannot have a refund")
            if refund.requested_at < order.paid_at:
                raise ScenarioError(f"{refund.path}.requested_at", "is before the order was paid")
            if refund.order in blocking:
                raise ScenarioError(f"{refund.path}.order",
                                    f"{refund.order!r} already has the open refund {blocking[refund.order]}")
            if refund.status in ("refunding", "refunded"):
                total = released.get(refund.order, 0) + refund.amount_cents
                if total > order.amount_cents:
                    raise ScenarioError(f"{refund.path}.amount",
                                        f"refunds of {refund.order} would exceed its amount")
                if refund.status == "refunding" or refund.kind == "full":
                    blocking[refund.order] = refund.ref
                if refund.status == "refunded":
                    released[refund.order] = total


# ---------------------------------------------------------------- loading


def read_file(path: str | Path) -> tuple[str, Any]:
    """Find a scenario by path or by the name of a shipped one; decode its JSON."""
    candidate = Path(path)
    if not candidate.exists():
        shipped = SCENARIO_DIR / f"{path}.json"
        if shipped.exists():
            candidate = shipped
        else:
            raise ScenarioError("", f"no scenario file at {path}")
    try:
        text = candidate.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("", f"cannot read {candidate}: {exc.strerror}") from None
    try:
        return candidate.stem, json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError("", f"{candidate} is not valid JSON (line {exc.lineno}, "
                                f"column {exc.colno}: {exc.msg})") from None


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
    with db.transaction(url) as session:
        if replace:
            _wipe(session)
        elif session.exec(select(Account.id).limit(1)).first() is not None:
            raise ScenarioError("", "the database already holds data; load with --replace "
                                    "to replace it")
        result = _World(session, parsed).build()
        session.merge(ClockSetting(id=1, anchor_at=parsed.now, anchored_real_at=real_now(),
                                   offset_seconds=0, scenario_name=name,
                                   scenario_json=json.dumps(stored_copy)))
    return LoadResult(name=name, now=parsed.now, **result)


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
    import zenmux_refunds.models  # noqa: F401

    for table in reversed(SQLModel.metadata.sorted_tables):
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
                    events.append((_instant(item)[1], rank, seq, kind, acct, item))
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
                    amount_micros=item.amount_cents * money.MICROS_PER_CENT, kind="topup",
                    at=at, description=f"Top-up {item.ref}", order_id=row.id)
        if item.bonus_micros:
            grant = Grant(account_id=acct.id, kind="discount", amount_micros=item.bonus_micros,
                          at=at, order_id=row.id)
            self.s.add(grant)
            self.s.flush()
            ledger.post(self.s, account_id=acct.id, bucket=ledger.BONUS,
                        amount_micros=item.bonus_micros, kind="discount", at=at,
                        description=f"Discount bonus with {item.ref}", order_id=row.id,
                        grant_id=grant.id)
        if item.referrer is not None:
            due = item.paid_at + policy.WINDOW
            reward = ReferralReward(order_id=row.id, referrer_id=self.accounts[item.referrer].id,
                                    amount_micros=REFERRAL_REWARD_MICROS, status="pending",
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
                        amount_micros=item.amount_micros, kind="adjustment", at=at,
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
            if r.status == "refunded")
        amounts = recorded_refund(
            paid_cents=order.amount_cents, amount_cents=item.amount_cents,
            prior_refunded_cents=prior, fee_percent=self.fee_percent,
            charged_currency=top.charged_currency if top else "USD",
            charged_minor=top.charged_minor if top else None,
        )
        order_key = f"{'subscription' if sub else 'topup'}:{order.id}"
        is_open = item.status == "refunding" or (item.status == "refunded" and item.kind == "full")
        refund = Refund(
            ref=item.ref, account_id=acct.id, order_kind="subscription" if sub else "topup",
            subscription_payment_id=sub.id if sub else None,
            topup_order_id=top.id if top else None, kind=item.kind, status=item.status,
            open_key=order_key if is_open else None,
            usage_cents=amounts.usage_cents,
            gross_cents=amounts.gross_cents, fee_cents=amounts.fee_cents,
            final_cents=amounts.final_cents, currency=amounts.currency,
            final_minor=amounts.final_minor, idempotency_key=f"zr_{uuid.uuid4().hex}",
            source="scenario", requested_at=at,
            settled_at=at if item.status != "refunding" else None,
        )
        self.s.add(refund)
        self.s.flush()
        self.s.add(RefundEvent(refund_id=refund.id, at=at, actor="scenario", action="loaded",
                               to_status=item.status,
                               detail=f"loaded from the scenario as {item.status}"))
        if item.status in ("refunding", "refunded") and top is not None:
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
                Refund.order_kind == "subscription", Refund.kind == "full",
                Refund.status.in_(("refunding", "refunded")))).all()
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
