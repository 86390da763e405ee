"""A seeded simulation of the refund lifecycle, in the spirit of TigerBeetle's VOPR.

One seed (``random.Random(seed)``) drives a random sequence of operations against the
REAL services and the real database (SQLite or PostgreSQL), with the demo scenario
loaded (``scenarios/demo.json``: ten accounts, ~50 orders — subscriptions, USD and CNY
top-ups, Discount bonuses, referral rewards, a bank transfer, refunds left Refunding,
Refunded and Failed by the scenario). After every step the invariants below are read
back from the database with plain queries; the first one that does not hold stops the
run with the seed, the step and the log of operations, so that
``scripts/simulate --seed N`` replays it.

The operations (``OP_WEIGHTS``)
    approve          the customer's second confirmation (``refunds.request_refund``), then —
                     usually — the send the UI starts at once; sometimes nothing more:
                     the process died between the commit and the provider call, and
                     the reconciler must pick the refund up
    approve_support  support approves an e-mail request (``refunds.request_refund``),
                     its window judged when the customer asked (sometimes too late)
    send             ``refunds.send`` of some refund (any status)
    send_crash       ``refunds.send`` whose provider call the provider executes, and then
                     the process dies: nothing after the call runs (no audit line, the
                     lease is never released, the verdict is never recorded)
    reconcile        ``refunds.process_refunding`` (mostly ``force=True``)
    provider_step    the provider moves one of its refunds on (pending -> its fate;
                     paid -> failed for a refund fated to pay then fail)
    webhook          the provider delivers one verdict it emitted: the newest, an older
                     one (out of order) or the same again (duplicate)
    late_verdict     a verdict for a refund we already closed: one it emitted, or a
                     "failed" notification for a refund it never received (Canceled)
    cancel           ``refunds.cancel`` by support or by the customer
    retry            ``refunds.retry`` of a Failed refund
    payout           ``refunds.record_payout`` (support paid a manual channel by hand)
    usage            ``usage.ingest`` of a billed call, mostly for an account with a
                     refund in flight, sometimes a call id reported again
    tick             the wall clock moves on (1 s .. 2 min): leases expire
Refusals (``RefundRefused``, ``quotes.NotYourOrder``) are normal outcomes: counted by
reason. Any other exception fails the run.

The payment provider is an outside party, so it is simulated (``SimProvider``): it keys
every refund by our idempotency key, exactly as real providers deduplicate, decides
each refund's fate from the seed when it first hears of it — pay, fail, pay then fail,
stay pending, and rarely fail then pay anyway (a provider contradicting itself: the
case ``paid_after_close`` exists for) —, sometimes answers at once, sometimes times out (before or after
executing the request), and keeps what it actually paid per order. It serves the
online channels; manual channels (bank transfer) keep the real ManualProvider, so that
support's payout by hand is what pays them. It is installed by replacing
``services.refunds.provider_for``; the wall clock that leases use
(``zenmux_refunds.clock.real_now``) is a simulated one; the app clock is frozen
(``ZENMUX_NOW``) at the scenario's now. Nothing else is replaced: the database is real.
The one other patch simulates a process death: a crashing provider call raises
``SimulatedCrash`` and ``services.refunds.note`` refuses to run in that thread, so
that ``send``'s error handler (which would release the lease) does not run either.

Invariants, after every step
    1 ledger      every wallet's stored balances equal the sums of its ledger entries
    2 paid_out    per order, what the provider paid out (plus support's payouts by
                  hand) is at most what the order was charged, in the charged
                  currency's minor units; and each payment is the refund's final_minor.
                  Exempt: an order one of whose refunds the provider said failed and
                  then paid anyway (nothing of ours can stop that; invariant 4 asks
                  that it be flagged)
    3 one_open    no order has two open refunds (Refunding, or Refunded in full)
    4 money_out   a refund the provider paid (and still holds paid) whose "succeeded"
                  has reached us (``finish`` called with it, or ``send`` returned it)
                  and that we hold as Canceled or Failed is flagged
                  ``attention == "paid_after_close"``; and a refund we hold as Canceled
                  was never received by the provider (cancel is for unsent refunds)
    5 effects     a Failed or Canceled refund's ledger entries sum to zero per wallet
                  bucket (its effects reversed exactly, once), an open or Refunded one
                  has no reversal entries; no referral reward stays revoked by a
                  closed refund; a subscription payment with an open full refund gives
                  no account its plan; a Discount grant's ``forfeited_micros`` equals
                  its forfeit entries net of their reversals
and at the end, after the provider turns honest (it settles every pending refund and
stops failing calls), the leases expire and the reconciler runs again:
    6 terminal    every refund that can reach a provider is terminal. Excluded: refunds
                  of manual channels (they wait for support's payout by hand) and
                  refunds with ``source == "scenario"`` (they never reached a provider;
                  the reconciler leaves them to support).

Modes. ``threads=1`` is deterministic: the same seed replays the same operations with
the same outcomes (the log names refunds by their order of creation, R1, R2, …, not by
database id). ``threads>1`` runs the schedule from several worker threads, each taking
the next operation and checking the invariants after it, concurrently with the others:
the interleaving is not reproducible, only the seed's choices are. Every invariant is
read in one snapshot (REPEATABLE READ on PostgreSQL; one read transaction on SQLite);
the verdicts delivered are read before it and the provider's state after it (see
``check``), so that a concurrent step cannot fake a violation.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from sqlmodel import select

import zenmux_refunds.clock
import zenmux_refunds.providers
import zenmux_refunds.services.refunds
from zenmux_refunds import config, db
from zenmux_refunds.config import parse_instant
from zenmux_refunds.domain.policy import ONLINE_CHANNELS
from zenmux_refunds.models import (
    Account,
    CurrentPlan,
    Grant,
    LedgerEntry,
    ReferralReward,
    Refund,
    SubscriptionPayment,
    TopupOrder,
    UsageRecord,
    Wallet,
)
from zenmux_refunds.providers import (
    Outcome,
    ProviderError,
    ProviderResult,
    RefundRequest,
    Verdict,
)
from zenmux_refunds.services import provider_events, quotes, refunds, scenarios, usage

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_SCENARIO = PROJECT_ROOT / "scenarios" / "demo.json"
SCENARIO_NOW = "2026-11-26T12:00:00Z"  # demo.json's now: ZENMUX_NOW during a run
SIM_ACTOR = "provider:sim"
INVARIANTS = ("ledger", "paid_out", "one_open", "money_out", "effects")
FINAL_INVARIANT = "terminal"

OP_WEIGHTS = {
    "approve": 14, "approve_support": 6, "send": 7, "send_crash": 4, "reconcile": 6,
    "provider_step": 12, "webhook": 12, "late_verdict": 3, "cancel": 8, "retry": 5,
    "payout": 2, "usage": 10, "tick": 6,
}
# The provider's fate for a refund, decided from the seed when it first hears of it.
FATES = {"pay": 50, "fail": 15, "pay_then_fail": 15, "pending": 20, "fail_then_pay": 3}
PROVIDER_FAULT = 0.08  # share of calls that time out before the provider acts
PROVIDER_LOST_ANSWER = 0.06  # share of calls it executes, then times out anyway
ANSWER_AT_ONCE = 0.35  # share of first submissions the provider settles at once


class SimulatedCrash(BaseException):
    """The process died during a provider call: nothing after the call runs."""


class InvariantViolation(AssertionError):
    """An invariant does not hold (or an operation failed unexpectedly)."""


# ------------------------------------------------------------------ the wall clock


class SimClock:
    """The simulated wall clock (``zenmux_refunds.clock.real_now``): moves only when
    the simulation says so, so that leases expire when the seed decides."""

    def __init__(self, start: datetime):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


# ------------------------------------------------------------------ the provider


@dataclass
class ProviderRefund:
    """One refund as the provider holds it (keyed by our idempotency key)."""

    key: str
    refund_id: int
    order: tuple[str, str]  # (order kind, order ref)
    currency: str
    amount_minor: int
    fate: str
    state: str = "pending"  # pending | paid | failed
    verdicts: list[str] = field(default_factory=list)  # outcomes it emitted, in order
    delivered: list[str] = field(default_factory=list)  # verdicts delivered by webhook


class SimProvider:
    """A scripted in-memory payment provider (``providers.base.Provider``)."""

    name = "sim"
    polled = False  # its verdicts come by webhook (the webhook ops) and by the reconciler
    paid_by_hand = False

    def __init__(self, seed: int):
        self.rng = random.Random(f"provider:{seed}")
        self.lock = threading.RLock()
        self.refunds: dict[str, ProviderRefund] = {}  # in order of first request
        self.by_refund_id: dict[int, ProviderRefund] = {}
        self.honest = False  # the final reconcile: no faults, pending ones settle
        self.calls = 0
        self.faults = Counter()
        self._local = threading.local()

    # -- what a thread asked and heard (the simulation reads it after send returns)

    def arm_crash(self) -> None:
        self._local.crash = True

    def disarm(self) -> tuple[bool, list[tuple[int, str]]]:
        """(crashed during a call, the answers this thread was given since the last
        disarm: refund id and outcome), and forget both."""
        crashed = getattr(self._local, "crashed", False)
        answers = getattr(self._local, "answers", [])
        self._local.crash = self._local.crashed = False
        self._local.answers = []
        return crashed, answers

    def dead(self) -> bool:
        return getattr(self._local, "crashed", False)

    # -- the Provider interface

    def submit(self, request: RefundRequest) -> ProviderResult:
        return self._call(request, first=True)

    def inquire(self, request: RefundRequest) -> ProviderResult:
        return self._call(request, first=False)

    def _call(self, request: RefundRequest, *, first: bool) -> ProviderResult:
        with self.lock:
            self.calls += 1
            if not self.honest and self.rng.random() < PROVIDER_FAULT:
                self.faults["timeout before acting"] += 1
                raise ProviderError("sim: timed out before the provider acted")
            known = self.refunds.get(request.idempotency_key)
            if known is None:  # a submission, or an inquiry it never received: resubmit
                known = self._register(request)
                if self.rng.random() < ANSWER_AT_ONCE:
                    self._advance(known)
            elif self.honest:
                self._settle_honestly(known)
            outcome = {"pending": Outcome.PENDING, "paid": Outcome.SUCCEEDED,
                       "failed": Outcome.FAILED}[known.state]
            crash = getattr(self._local, "crash", False)
            lost = not crash and not self.honest and self.rng.random() < PROVIDER_LOST_ANSWER
        if crash:
            self._local.crashed = True
            self.faults["process died during the call"] += 1
            raise SimulatedCrash(f"process died while asking about refund {request.refund_id}")
        if lost:
            self.faults["executed, answer lost (timeout)"] += 1
            raise ProviderError("sim: timed out after the provider acted")
        self._local.answers = getattr(self._local, "answers", []) + [
            (request.refund_id, outcome.value)]
        return ProviderResult(outcome, f"sim_{request.idempotency_key}",
                              f"sim: {known.state} ({'submit' if first else 'inquire'})")

    def _register(self, request: RefundRequest) -> ProviderRefund:
        fate = self.rng.choices(list(FATES), weights=list(FATES.values()))[0]
        known = ProviderRefund(key=request.idempotency_key, refund_id=request.refund_id,
                               order=(request.order_kind, request.order_ref),
                               currency=request.currency, amount_minor=request.amount_minor,
                               fate=fate)
        self.refunds[known.key] = known
        self.by_refund_id[known.refund_id] = known
        return known

    def _advance(self, known: ProviderRefund) -> bool:
        """Move a refund one step along its fate; whether it moved."""
        if known.state == "pending" and known.fate != "pending":
            known.state = "failed" if known.fate in ("fail", "fail_then_pay") else "paid"
        elif known.state == "paid" and known.fate == "pay_then_fail":
            known.state = "failed"
        elif known.state == "failed" and known.fate == "fail_then_pay":
            known.state = "paid"
        else:
            return False
        known.verdicts.append(Outcome.SUCCEEDED.value if known.state == "paid"
                              else Outcome.FAILED.value)
        return True

    def _settle_honestly(self, known: ProviderRefund) -> None:
        if known.state == "pending":
            if known.fate == "pending":
                known.fate = "pay"
            self._advance(known)

    # -- the provider's own moves

    def step(self, pick: Callable[[list], object]) -> tuple[ProviderRefund, str] | None:
        """Move one refund along its fate: (it, its state before), or None."""
        with self.lock:
            movable = [r for r in self.refunds.values()
                       if (r.state == "pending" and r.fate != "pending")
                       or (r.state == "paid" and r.fate == "pay_then_fail")
                       or (r.state == "failed" and r.fate == "fail_then_pay")]
            if not movable:
                return None
            known = pick(movable)
            before = known.state
            self._advance(known)
            return known, before

    def paid_by_order(self) -> dict[tuple[str, str], list[ProviderRefund]]:
        with self.lock:
            paid: dict[tuple[str, str], list[ProviderRefund]] = {}
            for known in self.refunds.values():
                if known.state == "paid":
                    paid.setdefault(known.order, []).append(known)
            return paid

    def snapshot(self) -> dict[int, tuple[str, int]]:
        """refund id -> (state, amount) for every refund the provider received."""
        with self.lock:
            return {k.refund_id: (k.state, k.amount_minor) for k in self.refunds.values()}


# ------------------------------------------------------------------ patches


class Patches:
    """``monkeypatch.setattr`` for the script (pytest's monkeypatch in the tests)."""

    def __init__(self):
        self._undo: list[tuple[object, str, object]] = []

    def setattr(self, target, name: str, value) -> None:
        self._undo.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        while self._undo:
            target, name, value = self._undo.pop()
            setattr(target, name, value)


def install(provider: SimProvider, sim_clock: SimClock, setattr_: Callable) -> str:
    """Put the simulated provider, wall clock and process death in place; return
    where ``provider_for`` was replaced."""
    module = zenmux_refunds.services.refunds
    if hasattr(module, "provider_for"):
        target, where = module, "zenmux_refunds.services.refunds.provider_for"
    else:  # the refactor moved it: replace it where it is defined
        target, where = zenmux_refunds.providers, "zenmux_refunds.providers.provider_for"
    real_provider_for = zenmux_refunds.providers.provider_for

    def provider_for(channel: str):
        return provider if channel in ONLINE_CHANNELS else real_provider_for(channel)

    setattr_(target, "provider_for", provider_for)
    setattr_(zenmux_refunds.clock, "real_now", sim_clock.now)
    real_note = module.note

    def note(*args, **kwargs):
        if provider.dead():  # the process died in the provider call
            raise SimulatedCrash("nothing runs after the process died")
        return real_note(*args, **kwargs)

    setattr_(module, "note", note)
    return where


class _ErrorLog(logging.Handler):
    """Errors the services log and swallow (the reconciler's "will retry")."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {record.exc_info[1]!r}"
        self.errors.append(text)


# ------------------------------------------------------------------ the world


@dataclass(frozen=True)
class OrderInfo:
    kind: str
    id: int
    ref: str
    account_id: int
    account_ref: str
    email: str
    channel: str
    paid_at: datetime
    currency: str
    charged_minor: int


@dataclass
class RefundInfo:
    label: str  # R1, R2, … in order of creation (S1, S2 for the scenario's)
    id: int
    order: OrderInfo
    manual: bool


@dataclass
class Stats:
    seeds: int = 0
    steps: int = 0
    checks: int = 0
    ops: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    provider_faults: Counter = field(default_factory=Counter)
    final_status: Counter = field(default_factory=Counter)
    attention: int = 0
    attention_unpaid: int = 0  # flagged, though the provider holds the refund failed
    seconds: float = 0.0
    notes: set = field(default_factory=set)
    log: list = field(default_factory=list)  # one seed's op log (not merged)

    def merge(self, other: Stats) -> None:
        self.seeds += other.seeds
        self.steps += other.steps
        self.checks += other.checks
        self.seconds += other.seconds
        self.attention += other.attention
        self.attention_unpaid += other.attention_unpaid
        for name in ("ops", "outcomes", "refusals", "provider_faults", "final_status"):
            getattr(self, name).update(getattr(other, name))
        self.notes |= other.notes

    def line(self, backend: str = "") -> str:
        where = f"[{backend}]" if backend else ""
        return (f"simulation{where}: {self.seeds} seeds, {self.steps} steps, "
                f"{len(INVARIANTS)} invariants checked after each step "
                f"({self.checks} checks) + 1 at the end, {self.seconds:.1f} s")

    def report(self, backend: str = "") -> str:
        def fmt(counter: Counter) -> str:
            return ", ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "-"
        lines = [self.line(backend),
                 f"  ops:       {fmt(self.ops)}",
                 f"  outcomes:  {fmt(self.outcomes)}",
                 f"  refusals:  {fmt(self.refusals)}",
                 f"  provider:  {fmt(self.provider_faults)}",
                 f"  final:     {fmt(self.final_status)}; paid_after_close flags: "
                 f"{self.attention} ({self.attention_unpaid} of them on refunds the provider "
                 "holds failed: a stale 'succeeded' delivered after 'failed')"]
        lines += [f"  note:      {n}" for n in sorted(self.notes)]
        return "\n".join(lines)


def world() -> dict:
    """The demo scenario plus six customers with orders inside their windows.

    The demo alone has few orders a refund can still be approved for (most of Tom's
    are months old, several accounts are there to be refused); the six ``sim*``
    accounts each bring a Stripe top-up with a Discount bonus (half of them linked to
    a referral reward, still pending), an Antom top-up charged in CNY, a 30-hour-old
    top-up whose referral reward has been granted (refundable by support only: a
    refund claws the reward back), and a subscription payment of this cycle. The
    world is the same for every seed: only the operations vary.
    """
    data = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    now = parse_instant(data["now"], field="now")

    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    for i in range(1, 7):
        referrer = f"sim{i % 6 + 1}"
        data["accounts"].append({
            "ref": f"sim{i}", "email": f"sim{i}@example.com", "name": f"Sim {i}",
            "password": "sim-pass-not-secret",
            "subscription_payments": [{
                "ref": f"SIM-{i}-S1", "plan": "Pro" if i % 2 else "Max",
                "amount": "20.00" if i % 2 else "100.00", "currency": "USD",
                "channel": "stripe", "paid_at": at(3 + i), "status": "paid"}],
            "topups": [
                {"ref": f"SIM-{i}-T3", "amount": "15.00", "channel": "stripe",
                 "paid_at": at(30), "status": "paid", "referrer": referrer},
                {"ref": f"SIM-{i}-T2", "amount": "40.00", "channel": "antom",
                 "charged": {"currency": "CNY", "amount": "288.00"},
                 "paid_at": at(5), "status": "paid"},
                {"ref": f"SIM-{i}-T1", "amount": "30.00", "channel": "stripe",
                 "paid_at": at(2), "status": "paid", "bonus": "2.00",
                 **({"referrer": referrer} if i % 2 == 0 else {})},
            ],
            "usage": [{"at": at(1), "amount": f"{i}.25", "billed_to": "credits"},
                      {"at": at(0.5), "amount": "0.50", "billed_to": "subscription"}],
        })
    return data


def load_world(url: str | None = None) -> None:
    """The simulation's world (``world()``), replacing whatever the database holds."""
    scenarios.load(world(), replace=True, url=url, name="simulation")


def _read_orders() -> tuple[list[OrderInfo], str, list[Account]]:
    with db.reading() as s:
        accounts = {a.id: a for a in s.exec(select(Account).order_by(Account.id)).all()}
        orders: list[OrderInfo] = []
        for p in s.exec(select(SubscriptionPayment).order_by(SubscriptionPayment.id)).all():
            a = accounts[p.account_id]
            orders.append(OrderInfo(quotes.SUBSCRIPTION, p.id, p.ref, a.id, a.ref, a.email,
                                    p.channel, p.paid_at, p.currency, p.amount_cents))
        for t in s.exec(select(TopupOrder).order_by(TopupOrder.id)).all():
            a = accounts[t.account_id]
            orders.append(OrderInfo(quotes.TOPUP, t.id, t.ref, a.id, a.ref, a.email,
                                    t.channel, t.paid_at, t.charged_currency, t.charged_minor))
    support = next(a.email for a in accounts.values() if a.role == "support")
    customers = [a for a in accounts.values() if a.role != "support"]
    return orders, support, customers


# ------------------------------------------------------------------ one run


@dataclass
class Op:
    step: int
    kind: str
    args: dict
    text: str = ""


class Simulation:
    """One seed's run: the world, the provider, the schedule, the checks."""

    def __init__(self, seed: int, *, steps: int, threads: int, backend: str,
                 setattr_: Callable):
        self.seed, self.steps, self.threads, self.backend = seed, steps, threads, backend
        self.rng = random.Random(seed)
        self.clock = SimClock(parse_instant(SCENARIO_NOW, field="now"))
        self.provider = SimProvider(seed)
        self.stats = Stats(seeds=1)
        self.lock = threading.RLock()  # the schedule and the simulation's memory
        self.log: list[str] = []
        self.reached: set[int] = set()  # refund ids whose "succeeded" reached us
        self.paid_by_hand: Counter = Counter()  # order -> minor units support paid out
        self.call_ids: list[str] = []
        self.refunds: list[RefundInfo] = []
        self.by_id: dict[int, RefundInfo] = {}
        self.next_step = 0
        self.failure: BaseException | None = None
        self.where = install(self.provider, self.clock, setattr_)
        if self.where != "zenmux_refunds.services.refunds.provider_for":
            self.stats.notes.add(f"provider_for replaced at {self.where}")
        self.orders, self.support, self.customers = _read_orders()
        self.order_of = {(o.kind, o.id): o for o in self.orders}
        with db.reading() as s:
            for row in s.exec(select(Refund).order_by(Refund.id)).all():
                self._remember(row.id, f"S{len(self.refunds) + 1}", row)

    # -- memory

    def _remember(self, refund_id: int, label: str | None = None, row: Refund | None = None
                  ) -> RefundInfo:
        with self.lock:
            if refund_id in self.by_id:
                return self.by_id[refund_id]
            if row is None:
                with db.reading() as s:
                    row = s.get(Refund, refund_id)
            order = self.order_of[(row.order_kind,
                                   row.subscription_payment_id or row.topup_order_id)]
            info = RefundInfo(label or f"R{sum(r.label[0] == 'R' for r in self.refunds) + 1}",
                              refund_id, order, order.channel not in ONLINE_CHANNELS)
            self.refunds.append(info)
            self.by_id[refund_id] = info
            return info

    def _statuses(self) -> dict[int, str]:
        with db.reading() as s:
            return dict(s.exec(select(Refund.id, Refund.status)).all())

    def _pick_refund(self, wanted: tuple[str, ...], share: float = 0.85, *,
                     ours: bool = False) -> RefundInfo | None:
        """Mostly a refund in one of the ``wanted`` statuses, else any (a stale click).
        ``ours``: only refunds approved during the run (the services send only what
        they approved; the reconciler leaves the scenario's alone)."""
        candidates = [r for r in self.refunds if not ours or r.label.startswith("R")]
        if not candidates:
            return None
        statuses = self._statuses()
        fitting = [r for r in candidates if statuses.get(r.id) in wanted]
        pool = fitting if fitting and self.rng.random() < share else candidates
        return self.rng.choice(pool)

    def _pick_order(self) -> OrderInfo:
        account = self.rng.choice(self.customers)
        return self.rng.choice([o for o in self.orders if o.account_id == account.id])

    # -- the schedule

    def next_op(self) -> Op | None:
        """Draw the next operation from the seed (under the schedule's lock)."""
        with self.lock:
            if self.next_step >= self.steps or self.failure is not None:
                return None
            self.next_step += 1
            step = self.next_step
            kind = self.rng.choices(list(OP_WEIGHTS), weights=list(OP_WEIGHTS.values()))[0]
            return Op(step, kind, getattr(self, f"_draw_{kind}")())

    def _draw_approve(self) -> dict:
        order = self._pick_order()
        account_id, actor = order.account_id, order.email
        if self.rng.random() < 0.05:  # someone else's order
            other = self.rng.choice([a for a in self.customers if a.id != order.account_id])
            account_id, actor = other.id, other.email
        preview = None if self.rng.random() < 0.3 else self.rng.randrange(0, 25_000)
        return {"order": order, "account_id": account_id, "actor": actor, "preview": preview,
                "then_send": self.rng.random() < 0.6}

    def _draw_approve_support(self) -> dict:
        order = self._pick_order()
        asked = order.paid_at + timedelta(minutes=self.rng.randrange(0, 26 * 60))
        return {"order": order, "window_at": asked, "then_send": self.rng.random() < 0.6}

    def _draw_send(self) -> dict:
        return {"refund": self._pick_refund((refunds.REFUNDING,), 0.7, ours=True)}

    def _draw_send_crash(self) -> dict:
        return {"refund": self._pick_refund((refunds.REFUNDING,), 0.95, ours=True)}

    def _draw_reconcile(self) -> dict:
        return {"force": self.rng.random() < 0.8}

    def _draw_provider_step(self) -> dict:
        return {"pick": random.Random(self.rng.random()).choice}

    def _draw_webhook(self) -> dict:
        return {"which": self.rng.choices(["newest", "older", "again"], [6, 2, 2])[0],
                "pick": random.Random(self.rng.random()).choice}

    def _draw_late_verdict(self) -> dict:
        return {"refund": self._pick_refund((refunds.CANCELED, refunds.FAILED,
                                             refunds.REFUNDED), 0.95),
                "pick": random.Random(self.rng.random()).choice}

    def _draw_cancel(self) -> dict:
        return {"refund": self._pick_refund((refunds.REFUNDING,), 0.85),
                "by_customer": self.rng.random() < 0.4}

    def _draw_retry(self) -> dict:
        return {"refund": self._pick_refund((refunds.FAILED,), 0.85)}

    def _draw_payout(self) -> dict:
        manual = [r for r in self.refunds if r.manual]
        refund = (self.rng.choice(manual) if manual and self.rng.random() < 0.8
                  else self._pick_refund((refunds.REFUNDING,)))
        return {"refund": refund}

    def _draw_usage(self) -> dict:
        if self.call_ids and self.rng.random() < 0.15:
            return {"again": self.rng.choice(self.call_ids)}
        statuses = self._statuses()
        in_flight = [r.order for r in self.refunds if statuses.get(r.id) == refunds.REFUNDING]
        if in_flight and self.rng.random() < 0.7:
            order = self.rng.choice(in_flight)
            account_ref, billed = order.account_ref, (
                "subscription" if order.kind == quotes.SUBSCRIPTION else "credits")
        else:
            account = self.rng.choice(self.customers)
            account_ref, billed = account.ref, self.rng.choice(["credits", "subscription"])
        micros = self.rng.choice([self.rng.randrange(1, 1_000_000),
                                  self.rng.randrange(1, 8_000_000)])
        call_id = f"sim-{self.seed}-{len(self.call_ids) + 1}"
        self.call_ids.append(call_id)
        return {"payload": {"call_id": call_id, "account": account_ref,
                            "amount": f"{micros // 1_000_000}.{micros % 1_000_000:06d}",
                            "billed_to": billed, "at": SCENARIO_NOW}}

    def _draw_tick(self) -> dict:
        return {"seconds": self.rng.choice([1, 5, 20, 30, 61, 120])}

    # -- running one operation

    def run_op(self, op: Op) -> str:
        """Run ``op`` against the services; what happened, in words."""
        self.stats.ops[op.kind] += 1
        try:
            text = getattr(self, f"_op_{op.kind}")(**op.args)
        except refunds.RefundRefused as exc:
            text = self._refused(op.kind, str(exc))
        except quotes.NotYourOrder:
            text = self._refused(op.kind, "not your order")
        self.stats.outcomes[f"{op.kind}:{text.split(' ')[0]}"] += 1
        return text

    def _refused(self, kind: str, reason: str) -> str:
        reason = reason.split(" (it is")[0]
        self.stats.refusals[f"{kind}: {reason}"] += 1
        return f"refused ({reason})"

    def _label(self, refund: RefundInfo | None) -> str:
        return f"{refund.label}[{refund.order.ref}]" if refund else "-"

    def _answers_reached_us(self) -> None:
        """The provider's answers to this thread's calls were recorded (the call that
        asked returned normally): a "succeeded" among them has reached us."""
        crashed, answers = self.provider.disarm()
        assert not crashed
        with self.lock:
            self.reached.update(rid for rid, outcome in answers
                                if outcome == Outcome.SUCCEEDED.value)

    def _send(self, refund_id: int, *, crash: bool = False) -> str:
        """``refunds.send``; optionally the process dies during the provider call."""
        self.provider.disarm()
        if crash:
            self.provider.arm_crash()
        try:
            status = refunds.send(refund_id)
        except SimulatedCrash:
            self.provider.disarm()  # what it answered never reached us
            return "died in the provider call (the process)"
        self._answers_reached_us()
        return status

    def _dispatch(self, then_send: bool):
        """The use case's dispatch: send now (``_send``), or the process dies between
        the approval's commit and the call (nothing is sent). Returns it and what the
        send answered."""
        answered: list[str] = []

        def dispatch(refund_id: int) -> None:
            if then_send:
                answered.append(self._send(refund_id))
        return dispatch, answered

    def _approved(self, approved: refunds.Approved, answered: list[str]) -> str:
        info = self._remember(approved.refund_id)
        text = f"approved {info.label} final {approved.quote.final_cents}c"
        if answered:
            text += f", sent: {answered[0]}"
        else:
            text += ", then the process died before sending"
        return text

    def _op_approve(self, order: OrderInfo, account_id: int, actor: str, preview,
                    then_send: bool) -> str:
        dispatch, answered = self._dispatch(then_send)
        return self._approved(refunds.request_refund(
            account_id=account_id, kind=order.kind, order_id=order.id,
            preview_final_cents=preview, actor=actor, dispatch=dispatch), answered)

    def _op_approve_support(self, order: OrderInfo, window_at: datetime,
                            then_send: bool) -> str:
        dispatch, answered = self._dispatch(then_send)
        return self._approved(refunds.request_refund(
            actor=self.support, account_id=order.account_id, kind=order.kind,
            order_id=order.id, window_at=window_at, source="email", via_support=True,
            dispatch=dispatch), answered)

    def _op_send(self, refund: RefundInfo | None) -> str:
        return "no refund yet" if refund is None else self._send(refund.id)

    def _op_send_crash(self, refund: RefundInfo | None) -> str:
        return "no refund yet" if refund is None else self._send(refund.id, crash=True)

    def _op_reconcile(self, force: bool) -> str:
        self.provider.disarm()
        asked = refunds.process_refunding(force=force)
        self._answers_reached_us()
        return f"asked about {asked}"

    def _op_provider_step(self, pick) -> str:
        moved = self.provider.step(pick)
        if moved is None:
            return "nothing to move"
        known, before = moved
        return (f"moved {self._label(self.by_id.get(known.refund_id))}: {before} -> "
                f"{known.state} (fate {known.fate})")

    def _deliver(self, known: ProviderRefund, outcome: str) -> str:
        # the way a webhook reaches us: decoded into a verdict keyed by our idempotency
        # key, looked up and applied by services.provider_events
        status = provider_events.apply(
            Verdict(outcome=Outcome(outcome), detail=f"sim webhook: {outcome}",
                    provider_refund_id=f"sim_{known.key}", idempotency_key=known.key),
            actor=SIM_ACTOR)
        assert status is not None, f"the webhook for {known.key} found no refund of ours"
        with self.lock:
            known.delivered.append(outcome)
            if outcome == Outcome.SUCCEEDED.value:
                self.reached.add(known.refund_id)
        return status

    def _op_webhook(self, which: str, pick) -> str:
        """Deliver a verdict the provider emitted: the newest, an older one, or the one
        delivered last again. A provider that contradicted itself (failed, then paid)
        has its verdicts delivered newest only: its "failed" arriving after its
        "succeeded" is exactly what a refund paid and then failed looks like, and no
        service can tell the two apart from the verdicts alone."""
        with self.provider.lock:
            emitted = [k for k in self.provider.refunds.values() if k.verdicts]
            if not emitted:
                return "nothing emitted yet"
            known = pick(emitted)
            if known.fate == "fail_then_pay":
                outcome = known.verdicts[-1]
            elif which == "again" and known.delivered:
                outcome = known.delivered[-1]
            elif which == "older":
                outcome = pick(known.verdicts)
            else:
                outcome = known.verdicts[-1]
        label = self._label(self.by_id.get(known.refund_id))
        return f"{which} {outcome} for {label} -> {self._deliver(known, outcome)}"

    def _op_late_verdict(self, refund: RefundInfo | None, pick) -> str:
        if refund is None:
            return "no refund yet"
        with self.provider.lock:
            known = self.provider.by_refund_id.get(refund.id)
            outcome = pick(known.verdicts) if known is not None and known.verdicts else None
            if outcome is not None and known.fate == "fail_then_pay":  # see _op_webhook
                outcome = known.verdicts[-1]
        if outcome is not None:
            return f"{outcome} for {self._label(refund)} -> {self._deliver(known, outcome)}"
        if known is not None:  # it has it, undecided: a provider says nothing yet
            return f"nothing emitted for {self._label(refund)} yet"
        if self._statuses().get(refund.id) != refunds.CANCELED:
            return f"nothing to say about {self._label(refund)}"
        # a "failed" notice for a request it never took (never paid: nothing reaches us)
        status = refunds.finish(refund.id, Outcome.FAILED, actor=SIM_ACTOR,
                                detail="sim: no such refund request")
        return f"stray failed for {self._label(refund)} -> {status}"

    def _op_cancel(self, refund: RefundInfo | None, by_customer: bool) -> str:
        if refund is None:
            return "no refund yet"
        if by_customer:
            status = refunds.cancel(refund.id, actor=refund.order.email,
                                    account_id=refund.order.account_id)
        else:
            status = refunds.cancel(refund.id, actor=self.support)
        return f"{status} {self._label(refund)}"

    def _op_retry(self, refund: RefundInfo | None) -> str:
        if refund is None:
            return "no refund yet"
        dispatch, answered = self._dispatch(True)
        approved = refunds.retry(refund.id, actor=self.support, dispatch=dispatch)
        return self._approved(approved, answered) + f" (a retry of {self._label(refund)})"

    def _op_payout(self, refund: RefundInfo | None) -> str:
        if refund is None:
            return "no refund yet"
        status = refunds.record_payout(refund.id, actor=self.support)
        with db.reading() as s:
            paid = s.get(Refund, refund.id).final_minor
        with self.lock:
            self.paid_by_hand[(refund.order.kind, refund.order.ref)] += paid
        return f"{status} {self._label(refund)} by hand ({paid})"

    def _op_usage(self, payload: dict | None = None, again: str | None = None) -> str:
        if again is not None:
            with db.reading() as s:
                row = s.exec(select(UsageRecord).where(UsageRecord.call_id == again)).first()
            if row is None:  # the first report was refused: nothing to repeat
                return f"duplicate {again} of a call never recorded"
            with db.reading() as s:
                ref = s.get(Account, row.account_id).ref
            micros = row.amount_micros
            payload = {"call_id": again, "account": ref, "billed_to": row.billed_to,
                       "amount": f"{micros // 1_000_000}.{micros % 1_000_000:06d}",
                       "at": SCENARIO_NOW}
        result = usage.ingest(payload)
        return (f"{'duplicate' if result.duplicate else 'recorded'} {payload['call_id']} "
                f"{payload['account']} {payload['amount']} {payload['billed_to']}")

    def _op_tick(self, seconds: int) -> str:
        return f"wall clock +{seconds}s -> {self.clock.advance(seconds):%H:%M:%S}"

    # -- the invariants

    def check(self, step: int, *, final: bool = False) -> None:
        """Read every invariant back from the database; raise on the first broken one."""
        problems: list[str] = []
        # Which "succeeded" verdicts have reached us is read BEFORE the database: each
        # was added once its finish had committed, so the snapshot shows its effect.
        with self.lock:
            reached = set(self.reached)
        with db.reading() as s:
            if s.get_bind().dialect.name == "postgresql":
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            wallets = s.exec(select(Wallet.account_id, Wallet.topup_micros,
                                    Wallet.bonus_micros)).all()
            sums = s.exec(select(LedgerEntry.account_id, LedgerEntry.bucket,
                                 sa.func.sum(LedgerEntry.amount_micros))
                          .group_by(LedgerEntry.account_id, LedgerEntry.bucket)).all()
            rows = s.exec(select(Refund.id, Refund.status, Refund.kind, Refund.attention,
                                 Refund.source, Refund.final_minor, Refund.currency,
                                 Refund.order_kind, Refund.subscription_payment_id,
                                 Refund.topup_order_id)).all()
            per_refund = s.exec(select(LedgerEntry.refund_id, LedgerEntry.account_id,
                                       LedgerEntry.bucket, LedgerEntry.kind,
                                       sa.func.sum(LedgerEntry.amount_micros))
                                .where(LedgerEntry.refund_id.is_not(None))
                                .group_by(LedgerEntry.refund_id, LedgerEntry.account_id,
                                          LedgerEntry.bucket, LedgerEntry.kind)).all()
            revoked = s.exec(select(ReferralReward.id, ReferralReward.revoked_by_refund_id)
                             .where(ReferralReward.revoked_by_refund_id.is_not(None))).all()
            plans = dict(s.exec(select(CurrentPlan.payment_id, CurrentPlan.account_id)
                                .where(CurrentPlan.payment_id.is_not(None))).all())
            forfeits = s.exec(select(Grant.id, Grant.forfeited_micros,
                                     sa.func.coalesce(sa.func.sum(LedgerEntry.amount_micros), 0))
                              .outerjoin(LedgerEntry, sa.and_(
                                  LedgerEntry.grant_id == Grant.id,
                                  LedgerEntry.kind.in_(("forfeit", "forfeit_reversal"))))
                              .where(Grant.kind == "discount")
                              .group_by(Grant.id, Grant.forfeited_micros)).all()
        # The provider and support's payouts, read AFTER it: a refund the snapshot holds
        # Failed after a "failed" verdict was failed by the provider before that.
        provider = self.provider.snapshot()
        paid_orders = self.provider.paid_by_order()
        with self.lock:
            by_hand = Counter(self.paid_by_hand)

        # 1 ledger
        summed = {(a, b): int(v) for a, b, v in sums}
        for account_id, topup, bonus in wallets:
            got = (summed.get((account_id, "topup"), 0), summed.get((account_id, "bonus"), 0))
            if (topup, bonus) != got:
                problems.append(f"ledger: account {account_id} stores topup/bonus "
                                f"{(topup, bonus)} but its entries sum to {got}")
        # 2 paid_out
        refund_rows = {r[0]: r for r in rows}
        for order_key in set(paid_orders) | set(by_hand):
            kind, ref = order_key
            order = next(o for o in self.orders if o.kind == kind and o.ref == ref)
            paid = paid_orders.get(order_key, [])
            total = sum(k.amount_minor for k in paid) + by_hand[order_key]
            contradicted = any(k.fate == "fail_then_pay" for k in paid)
            if total > order.charged_minor and not contradicted:
                problems.append(
                    f"paid_out: {ref} was charged {order.charged_minor} {order.currency} minor "
                    f"units, the provider paid {[(self._label(self.by_id.get(k.refund_id)), k.amount_minor) for k in paid]}"
                    f" and support {by_hand[order_key]}: {total} in all")
            for k in paid:
                row = refund_rows.get(k.refund_id)
                if row is None:  # approved and paid since the snapshot (threads)
                    continue
                if (row[5], row[6]) != (k.amount_minor, order.currency):
                    problems.append(f"paid_out: {ref} refund #{k.refund_id} paid "
                                    f"{k.amount_minor} {k.currency}, stored {row and row[5:7]}")
        # 3 one_open
        open_by_order = Counter()
        for (rid, status, kind, _att, _src, _fm, _cur, okind, sub_id, top_id) in rows:
            if status == refunds.REFUNDING or (status == refunds.REFUNDED and kind == "full"):
                open_by_order[(okind, sub_id or top_id)] += 1
        for (okind, oid), n in open_by_order.items():
            if n > 1:
                problems.append(f"one_open: {self.order_of[(okind, oid)].ref} has {n} open "
                                f"refunds: {[self._label(self.by_id.get(r[0])) + ' ' + r[1] for r in rows if (r[7], r[8] or r[9]) == (okind, oid)]}")
        # 4 money_out
        for (rid, status, _k, attention, *_rest) in rows:
            state = provider.get(rid, (None, 0))[0]
            if status == refunds.CANCELED and state is not None:
                problems.append(f"money_out: {self._label(self.by_id.get(rid))} is Canceled "
                                f"but the provider received it (it is {state} there)")
            if (status in (refunds.CANCELED, refunds.FAILED) and state == "paid"
                    and rid in reached and attention != refunds.PAID_AFTER_CLOSE):
                problems.append(f"money_out: the provider paid {self._label(self.by_id.get(rid))}"
                                f", its success reached us, we hold it {status} and it is not "
                                f"flagged paid_after_close (attention={attention!r})")
        # 5 reversal
        nets: dict[tuple[int, int, str], int] = Counter()
        reversal_kinds: dict[int, set] = {}
        for rid, account_id, bucket, kind, total in per_refund:
            nets[(rid, account_id, bucket)] += int(total)
            reversal_kinds.setdefault(rid, set()).add(kind)
        for rid, status, *_rest in rows:
            closed = status in (refunds.CANCELED, refunds.FAILED)
            if closed:
                for (r, account_id, bucket), net in nets.items():
                    if r == rid and net != 0:
                        problems.append(f"effects: {self._label(self.by_id.get(rid))} is "
                                        f"{status} but its {bucket} entries on account "
                                        f"{account_id} sum to {net}, not 0")
            elif any(k.endswith("_reversal") for k in reversal_kinds.get(rid, ())):
                problems.append(f"effects: {self._label(self.by_id.get(rid))} is {status} "
                                f"but has reversal entries {sorted(reversal_kinds[rid])}")
        statuses = {r[0]: r[1] for r in rows}
        for reward_id, rid in revoked:
            if statuses.get(rid) in (refunds.CANCELED, refunds.FAILED):
                problems.append(f"effects: referral reward {reward_id} stays revoked by "
                                f"{self._label(self.by_id.get(rid))}, which is {statuses[rid]}")
        for (rid, status, kind, _a, _s, _f, _c, okind, sub_id, _t) in rows:
            if (okind == quotes.SUBSCRIPTION and sub_id in plans and kind == "full"
                    and status in (refunds.REFUNDING, refunds.REFUNDED)):
                problems.append(f"effects: {self._label(self.by_id.get(rid))} is {status} "
                                f"but the payment it refunds still gives account "
                                f"{plans[sub_id]} its plan")
        for grant_id, forfeited, entries in forfeits:
            if forfeited != -int(entries):
                problems.append(f"effects: Discount grant {grant_id} says "
                                f"{forfeited} forfeited, its ledger entries {-int(entries)}")
        # 6 terminal (the end only)
        if final:
            channel_of = {r.id: r.order.channel for r in self.refunds}
            for (rid, status, _k, _a, source, *_rest) in rows:
                if (status == refunds.REFUNDING and source != "scenario"
                        and channel_of.get(rid) in ONLINE_CHANNELS):
                    problems.append(f"terminal: {self._label(self.by_id.get(rid))} is still "
                                    f"Refunding after the final reconcile (provider: "
                                    f"{provider.get(rid, ('never asked',))[0]})")
        with self.lock:
            self.stats.checks += 1
        if problems:
            raise InvariantViolation("; ".join(problems))

    # -- the run

    def _record(self, op: Op, text: str, thread: str) -> None:
        with self.lock:
            self.log.append(f"#{op.step:<4} {thread:<3} {op.kind:<16} {text}")

    def _describe(self, op: Op) -> str:
        a = op.args
        if "order" in a:
            who = "support" if op.kind == "approve_support" else a.get("actor", "")
            return f"{a['order'].ref} by {who}: "
        if "refund" in a:
            return f"{self._label(a['refund'])}: "
        return ""

    def _worker(self, name: str) -> None:
        while True:
            op = self.next_op()
            if op is None:
                return
            try:
                text = self._describe(op) + self.run_op(op)
            except BaseException as exc:  # noqa: BLE001 - any other error fails the run
                self._record(op, f"{self._describe(op)}UNEXPECTED {exc!r}", name)
                self._fail(op.step, f"{op.kind} raised {type(exc).__name__}: {exc}", exc)
                return
            self._record(op, text, name)
            try:
                self.check(op.step)
            except InvariantViolation as exc:
                self._fail(op.step, str(exc), exc)
                return

    def _fail(self, step: int, message: str, exc: BaseException) -> None:
        with self.lock:
            if self.failure is None:
                self.failure = exc
                self.failed_at = (step, message)

    def final_reconcile(self) -> None:
        """The provider turns honest, leases expire, the reconciler runs until quiet."""
        self.provider.honest = True
        lease = timedelta(seconds=4 * config.settings().provider_timeout_seconds + 5)
        for _ in range(3):
            self.clock.advance(lease.total_seconds() + 1)
            self.provider.disarm()
            asked = refunds.process_refunding(force=True)
            self._answers_reached_us()
            self.log.append(f"#end     reconcile (honest provider, leases expired): asked {asked}")
            if not asked:
                break

    def run(self) -> Stats:
        started = time.monotonic()
        errors = _ErrorLog()
        log = logging.getLogger("zenmux_refunds")
        log.addHandler(errors)
        try:
            if self.threads <= 1:
                self._worker("t0")
            else:
                workers = [threading.Thread(target=self._worker, args=(f"t{i}",), daemon=True)
                           for i in range(self.threads)]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join(300)
                    if w.is_alive():
                        self._fail(self.next_step, "a worker is stuck (deadlock?)",
                                   RuntimeError("stuck"))
                        break
            if self.failure is None and errors.errors:
                self._fail(self.next_step, f"the services logged errors: {errors.errors}",
                           RuntimeError("logged errors"))
            if self.failure is None:
                try:
                    self.final_reconcile()
                    self.check(self.steps, final=True)
                    if errors.errors:
                        raise InvariantViolation(f"the services logged errors: {errors.errors}")
                except BaseException as exc:  # noqa: BLE001
                    self._fail(self.steps, f"at the end: {exc}", exc)
        finally:
            log.removeHandler(errors)
        self.stats.steps = min(self.next_step, self.steps)
        self.stats.seconds = time.monotonic() - started
        self.stats.provider_faults.update(self.provider.faults)
        if self.failure is not None:
            raise InvariantViolation(self.failure_report()) from self.failure
        if self.stats.ops["send"] + self.stats.ops["reconcile"] and not self.provider.calls:
            raise InvariantViolation(f"the simulated provider was never called: replacing "
                                     f"{self.where} did not reach the services")
        with db.reading() as s:
            ours = s.exec(select(Refund.id, Refund.status, Refund.attention)
                          .where(Refund.source != "scenario")).all()
        paid = self.provider.snapshot()
        self.stats.final_status.update(status for _id, status, _attention in ours)
        flagged = [rid for rid, _s, a in ours if a == refunds.PAID_AFTER_CLOSE]
        self.stats.attention = len(flagged)
        self.stats.attention_unpaid = sum(paid.get(rid, ("",))[0] != "paid" for rid in flagged)
        self.stats.log = list(self.log)
        return self.stats

    def failure_report(self, max_lines: int = 400) -> str:
        step, message = self.failed_at
        lines = self.log if len(self.log) <= max_lines else (
            [f"... ({len(self.log) - max_lines} earlier lines)"] + self.log[-max_lines:])
        mode = ("deterministic: replays exactly" if self.threads <= 1 else
                f"{self.threads} threads: the interleaving does not replay; try --threads 1 too")
        return "\n".join([
            f"SIMULATION FAILED: seed {self.seed}, step {step} of {self.steps}, "
            f"{self.backend}, {mode}",
            f"  {message}",
            f"  replay: scripts/simulate --seed {self.seed} --steps {self.steps} "
            f"--threads {self.threads} --db {self.backend}",
            "op log (refunds by order of creation: R1, R2, … ours; S1, S2, … the scenario's):",
            *lines,
        ])


def run_seed(seed: int, *, steps: int = 150, threads: int = 1, setattr_: Callable,
             backend: str) -> Stats:
    """Load the demo scenario afresh and simulate one seed (raises InvariantViolation)."""
    load_world()
    return Simulation(seed, steps=steps, threads=threads, backend=backend,
                      setattr_=setattr_).run()


def parse_seeds(text: str) -> list[int]:
    """``"1,2,7"`` or ``"1-100"`` or a mix (``ZENMUX_SIM_SEEDS``)."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part[1:]:
            low, high = part.split("-", 1)
            seeds.extend(range(int(low), int(high) + 1))
        else:
            seeds.append(int(part))
    return seeds

