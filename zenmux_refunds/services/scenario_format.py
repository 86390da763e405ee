"""The scenario file format (see shared/scenario-format.md): its values and validation.

``parse`` validates the whole file (already decoded from JSON) into plain values and
raises ``ScenarioError`` naming the first bad field (``accounts[3].topups[1].paid_at``);
``read_file`` finds a file by path or by the name of a shipped scenario and decodes it.
No database here: replaying a parsed world into one is ``services.scenarios``.

ZenMux extensions to the shared format, per account: ``password_hash`` (an argon2 hash)
in place of ``password``, and ``demo_persona`` (default true: one-click sign-in may use
the account in demo mode). A ``password_hash`` is only checked for its shape here; a
plaintext ``password`` is hashed by the loader before anything is stored.

It lives in services, not domain, because its vocabulary does: the roles are
``services.auth``'s and the billing targets ``services.usage``'s, and ``read_file``
reads the disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError

from zenmux_refunds.config import PROJECT_ROOT, ConfigError, parse_instant
from zenmux_refunds.domain import money
from zenmux_refunds.domain.vocabulary import GrantKind, RefundScope, RefundStatus
from zenmux_refunds.services import auth, usage

SCENARIO_DIR = PROJECT_ROOT / "scenarios"
PLANS = ("Pro", "Max", "Ultra")
PAYMENT_STATUSES = ("paid", "pending", "failed")
REFUND_STATUSES = tuple(RefundStatus)
REFUND_SCOPES = tuple(RefundScope)
GRANT_KINDS = (GrantKind.GIFT, GrantKind.REFERRAL, GrantKind.INSURANCE)  # discount: with an order


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
                kind=f.text("kind", required=False, default=RefundScope.FULL,
                             choices=REFUND_SCOPES),
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
                name, at = instant_of(item)
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


def instant_of(item) -> tuple[str, datetime]:
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
            if refund.status in (RefundStatus.REFUNDING, RefundStatus.REFUNDED):
                total = released.get(refund.order, 0) + refund.amount_cents
                if total > order.amount_cents:
                    raise ScenarioError(f"{refund.path}.amount",
                                        f"refunds of {refund.order} would exceed its amount")
                if refund.status == RefundStatus.REFUNDING or refund.kind == RefundScope.FULL:
                    blocking[refund.order] = refund.ref
                if refund.status == RefundStatus.REFUNDED:
                    released[refund.order] = total


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

