"""The account lock orders one account's approvals and usage reports (SPEC §5).

Each test runs two transactions of one account at once, with a deterministic
interleaving instead of a timing gamble: the first is held at a point of ours that
comes after its reads and before its writes (``Hold``) until the second reaches its
own point, or ``HOLD_SECONDS`` pass. With the lock the second cannot get there — it
waits at ``ledger.lock_account`` —, the hold times out, the first commits, and the
second reads what the first wrote. Without it both write from the same reads, and the
books show it: a wallet whose stored balance is not its ledger sum, two refunds paid
from one balance, a usage total that lost a call, a call counted twice.

On SQLite writing transactions begin IMMEDIATE, so the database write lock serializes
them even without the row lock; a missing lock shows on PostgreSQL
(``ZENMUX_TEST_POSTGRES_URL``), where CI runs these tests too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.config import parse_instant
from zenmux_refunds.domain import money, policy
from zenmux_refunds.models import Account, LedgerEntry, Refund, TopupOrder, UsageRecord
from zenmux_refunds.services import ledger, quotes, refunds, scenarios, usage

# How long the first transaction waits at its point for the second. With the lock the
# wait always times out (the second is at the lock), so this is what each test costs;
# without the lock the second arrives within milliseconds.
HOLD_SECONDS = 2.0
NOW = "2026-11-26T12:00:00Z"  # the frozen_now fixture's instant


def _person(ref: str, **extra) -> dict:
    return {"ref": ref, "email": f"{ref}@example.com", "name": ref.capitalize(),
            "password": f"{ref}-pass", **extra}


WORLD = {
    "now": NOW,
    "accounts": [
        # Two $50 top-ups, then a $40 chargeback: the wallet holds $60, each top-up is
        # refundable in full on its own ($50 <= $60), not both.
        _person("twin", topups=[
            {"ref": "TW-1", "amount": "50.00", "channel": "stripe",
             "paid_at": "2026-11-26T09:00:00Z", "status": "paid"},
            {"ref": "TW-2", "amount": "50.00", "channel": "stripe",
             "paid_at": "2026-11-26T10:00:00Z", "status": "paid"},
        ], adjustments=[{"at": "2026-11-26T11:00:00Z", "amount": "-40.00",
                         "note": "Chargeback on an earlier payment"}]),
        # One $50 top-up, nothing used since: refundable $50 until a call comes in. (A
        # $0.50 call before it, paid by a gift, so that the usage totals start non-zero.)
        _person("uma", topups=[
            {"ref": "UM-1", "amount": "50.00", "channel": "stripe",
             "paid_at": "2026-11-26T09:00:00Z", "status": "paid"},
        ], usage=[{"at": "2026-11-26T08:00:00Z", "amount": "0.50"}],
            grants=[{"kind": "gift", "amount": "0.50", "at": "2026-11-26T07:00:00Z"}]),
        # Rex's top-up brought Rory a $5 referral reward, granted when its window closed
        # (11-26 06:00); support refunds it from an e-mail request sent inside the window,
        # which claws the $5 back from Rory's bonus.
        _person("rory", topups=[
            {"ref": "RO-1", "amount": "20.00", "channel": "stripe",
             "paid_at": "2026-11-20T09:00:00Z", "status": "paid"},
        ]),
        _person("rex", topups=[
            {"ref": "RX-1", "amount": "30.00", "channel": "stripe",
             "paid_at": "2026-11-25T06:00:00Z", "status": "paid", "referrer": "rory"},
        ]),
    ],
}


@pytest.fixture
def world(database_url, frozen_now):
    scenarios.load(WORLD)
    return database_url


# ---------------------------------------------------------------- the interleaving


class Hold:
    """Two transactions, each stopping once at a named point of ours.

    ``point(monkeypatch, module, name)`` wraps ``module.name``: a thread whose point it
    is waits there (after the call with ``after=True``, else before it; only for calls
    that ``when`` accepts) on a two-party barrier. ``race(first, second)`` starts the first, waits until it is at
    its point, then starts the second, and returns each one's result or exception.
    """

    def __init__(self, timeout: float = HOLD_SECONDS):
        self.barrier = threading.Barrier(2, timeout=timeout)
        self.first_arrived = threading.Event()
        self.met = False  # both reached their points: nothing serialized them
        self._local = threading.local()

    def point(self, monkeypatch, module, name: str, *, after: bool = False,
              when: Callable[..., bool] = lambda *args, **kwargs: True) -> None:
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            stop = when(*args, **kwargs)
            if stop and not after:
                self._arrive(name)
            result = original(*args, **kwargs)
            if stop and after:
                self._arrive(name)
            return result

        monkeypatch.setattr(module, name, wrapper)

    def _arrive(self, name: str) -> None:
        if getattr(self._local, "point", None) != name:
            return
        self._local.point = None  # each thread stops once
        self.first_arrived.set()
        try:
            self.barrier.wait()
            self.met = True
        except threading.BrokenBarrierError:
            pass  # the other one is held at the lock (or already done): go on

    def race(self, first: tuple[str, Callable], second: tuple[str, Callable]) -> list:
        results: list = [None, None]

        def runner(index: int, point: str, fn: Callable) -> None:
            self._local.point = point
            try:
                results[index] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed back to the test
                results[index] = exc

        threads = [threading.Thread(target=runner, args=(i, *job), daemon=True)
                   for i, job in enumerate((first, second))]
        threads[0].start()
        if not self.first_arrived.wait(30):
            threads[0].join(5)
            raise AssertionError(f"the first transaction never reached {first[0]}: "
                                 f"{results[0]!r}")
        threads[1].start()
        for thread in threads:
            thread.join(60)
            assert not thread.is_alive(), "a transaction is stuck (deadlock?)"
        return results


# ---------------------------------------------------------------- helpers


def _account(ref: str) -> Account:
    with db.reading() as s:
        return s.exec(select(Account).where(Account.ref == ref)).one()


def _approve(account_ref: str, order_ref: str) -> Callable[[], refunds.Approved]:
    account = _account(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return lambda: refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                                   preview_final_cents=None, actor=account.email)


def _report(account_ref: str, call_id: str, amount: str) -> Callable[[], usage.Ingested]:
    payload = {"call_id": call_id, "account": account_ref, "amount": amount,
               "billed_to": "credits", "at": NOW}
    return lambda: usage.ingest(payload)


def _raise_errors(results: list, *allowed: type[BaseException]) -> None:
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, allowed):
            raise result


def _assert_books(account_ref: str, hold: Hold) -> None:
    """Stored balances equal their ledger sums, usage totals equal their calls."""
    account = _account(account_ref)
    with db.reading() as s:
        stored = ledger.balances(s, account.id)
        summed = ledger.ledger_sums(s, account.id)
        credits_calls = s.exec(
            select(sa.func.coalesce(sa.func.sum(UsageRecord.amount_micros), 0))
            .where(UsageRecord.account_id == account.id, UsageRecord.billed_to == "credits")
        ).one()
    why = ("(the two transactions were at their write points together: nothing "
           "ordered them)" if hold.met else "")
    assert stored == summed, f"{account_ref}: stored wallet {stored} != ledger sums {summed} {why}"
    assert account.usage_credits_micros == credits_calls, (
        f"{account_ref}: running credits usage {account.usage_credits_micros} != "
        f"its calls {credits_calls} {why}")


def _first_entry_id(session, **where) -> int:
    query = select(sa.func.min(LedgerEntry.id))
    for column, value in where.items():
        query = query.where(getattr(LedgerEntry, column) == value)
    return session.exec(query).one()


# ---------------------------------------------------------------- approvals


def test_two_approvals_cannot_both_spend_one_wallet(world, monkeypatch):
    """Two top-ups of one account approved at once, $50 each from a $60 wallet: the
    second approval sees the first's debit and is refused. (Without the account lock
    on PostgreSQL both read $60, both are approved, and the wallet's stored balance
    is overwritten: $10 stored, -$40 in the ledger.)"""
    hold = Hold()
    hold.point(monkeypatch, quotes, "quote_order", after=True)
    first, second = hold.race(("quote_order", _approve("twin", "TW-1")),
                              ("quote_order", _approve("twin", "TW-2")))
    _raise_errors([first, second], refunds.RefundRefused)
    assert isinstance(first, refunds.Approved), first
    assert isinstance(second, refunds.RefundRefused), (
        f"both refunds approved from one $60 wallet: {second!r} "
        f"(transactions met at their write points: {hold.met})")
    assert str(second) == policy.Reason.INSUFFICIENT_BALANCE.value
    _assert_books("twin", hold)
    with db.reading() as s:
        twin = _account("twin")
        assert ledger.balances(s, twin.id).topup_micros == 10 * money.MICROS_PER_DOLLAR
        open_refunds = s.exec(select(Refund).where(Refund.account_id == twin.id)).all()
    assert [r.gross_cents for r in open_refunds] == [5000]


# ---------------------------------------------------------------- usage with approvals


def test_a_call_reported_during_an_approval_counts_after_it(world, monkeypatch):
    """The approval has read the wallet and usage when a $5.25 call comes in: the call
    waits for it, then draws from what is left (the wallet goes below zero: the call was
    served). Never lost: the approval's debit and the call's both stay in the stored
    balance."""
    hold = Hold()
    hold.point(monkeypatch, quotes, "quote_order", after=True)
    hold.point(monkeypatch, ledger, "post")
    hold.point(monkeypatch, usage, "_insert_calls")  # a report's first write
    approval, report = hold.race(("quote_order", _approve("uma", "UM-1")),
                                 ("_insert_calls", _report("uma", "call-during", "5.25")))
    _raise_errors([approval, report])
    _assert_books("uma", hold)
    assert approval.quote.usage_cents == 0 and approval.quote.refundable_cents == 5000
    assert not report.duplicate
    with db.reading() as s:
        uma = _account("uma")
        refund_id = s.exec(select(Refund.id).where(Refund.account_id == uma.id)).one()
        call_id = s.exec(select(UsageRecord.id)
                         .where(UsageRecord.call_id == "call-during")).one()
        # ordered: the refund's debit is in the ledger before the call's draw
        assert _first_entry_id(s, refund_id=refund_id) < _first_entry_id(s, usage_id=call_id)
        assert ledger.balances(s, uma.id).topup_micros == -5_250_000


def test_an_approval_during_a_call_report_settles_with_it(world, monkeypatch):
    """A $5.25 call is being recorded when the customer confirms: the approval waits
    for it and settles with it (refundable $44.75 of $50), taking the wallet to zero.
    Never counted twice, never left out of the settled amount."""
    hold = Hold()
    hold.point(monkeypatch, quotes, "quote_order", after=True)
    hold.point(monkeypatch, ledger, "post")
    hold.point(monkeypatch, usage, "_insert_calls")  # a report's first write
    report, approval = hold.race(("_insert_calls", _report("uma", "call-before", "5.25")),
                                 ("quote_order", _approve("uma", "UM-1")))
    _raise_errors([report, approval])
    _assert_books("uma", hold)
    assert not report.duplicate
    assert (approval.quote.usage_cents, approval.quote.refundable_cents) == (525, 4475), (
        f"the approval settled without the call reported before it (met: {hold.met})")
    with db.reading() as s:
        uma = _account("uma")
        assert ledger.balances(s, uma.id).topup_micros == 0


def test_a_referrers_call_during_a_clawback_is_ordered_with_it(world, monkeypatch):
    """Refunding Rex's top-up claws Rory's $5 referral reward back from Rory's bonus.
    Rory's $3 call reported while the approval holds the reward's bonus in hand waits
    for it (the approval locks the referrer's account too), then draws from what is
    left: no bonus, so $3 of top-up credits."""
    rory, rex = _account("rory"), _account("rex")
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, rex, "RX-1")
    approve = lambda: refunds.approve_on_behalf(  # noqa: E731
        actor="support@example.com", account_id=rex.id, kind=kind, order_id=order_id,
        window_at=parse_instant("2026-11-25T08:00:00Z", field="window_at"), source="email")
    hold = Hold()
    # the approval stops right after it has read the referrer's bonus to claw it back
    hold.point(monkeypatch, ledger, "balances", after=True,
               when=lambda session, account_id: account_id == rory.id)
    hold.point(monkeypatch, ledger, "post")
    hold.point(monkeypatch, usage, "_insert_calls")  # a report's first write
    approval, report = hold.race(("balances", approve),
                                 ("_insert_calls", _report("rory", "rory-call", "3.00")))
    _raise_errors([approval, report])
    _assert_books("rory", hold)
    _assert_books("rex", hold)
    with db.reading() as s:
        kinds = [(e.kind, e.bucket, e.amount_micros) for e in s.exec(
            select(LedgerEntry).where(LedgerEntry.account_id == rory.id)
            .order_by(LedgerEntry.id)).all()]
        assert kinds[-2:] == [("clawback", "bonus", -5_000_000),
                              ("usage", "topup", -3_000_000)], kinds
        assert ledger.balances(s, rory.id) == ledger.Balances(17_000_000, 0)


# ---------------------------------------------------------------- usage with usage


def test_two_calls_of_one_account_at_once_both_count(world, monkeypatch):
    """Two calls of one account reported at once: the running usage total (what every
    "usage since a payment" subtracts from) counts both, and the refund quoted after
    them settles with both."""
    hold = Hold()
    hold.point(monkeypatch, ledger, "post")
    hold.point(monkeypatch, usage, "_insert_calls")  # a report's first write
    one, two = hold.race(("_insert_calls", _report("uma", "call-1", "1.00")),
                         ("_insert_calls", _report("uma", "call-2", "2.00")))
    _raise_errors([one, two])
    _assert_books("uma", hold)
    uma = _account("uma")
    with db.reading() as s:
        order = s.exec(select(TopupOrder).where(TopupOrder.ref == "UM-1")).one()
        assert usage.since_topup(uma, order) == 3 * money.MICROS_PER_DOLLAR, (
            "a call was lost from the running usage total")
        assert ledger.balances(s, uma.id).topup_micros == 47 * money.MICROS_PER_DOLLAR


def test_one_call_reported_twice_at_once_counts_once(world, monkeypatch):
    """The gateway retries a report while the first is being recorded: the second waits
    and is answered as a duplicate (not an error), and the call counts once."""
    hold = Hold()
    hold.point(monkeypatch, ledger, "post")
    hold.point(monkeypatch, usage, "_insert_calls")  # a report's first write
    one, two = hold.race(("_insert_calls", _report("uma", "call-retried", "1.00")),
                         ("_insert_calls", _report("uma", "call-retried", "1.00")))
    _raise_errors([one, two])
    assert (one.duplicate, two.duplicate) == (False, True)
    _assert_books("uma", hold)
    with db.reading() as s:
        uma = _account("uma")
        assert ledger.balances(s, uma.id).topup_micros == 49 * money.MICROS_PER_DOLLAR
        assert s.exec(select(sa.func.count()).select_from(UsageRecord)
                      .where(UsageRecord.call_id == "call-retried")).one() == 1


# ---------------------------------------------------------------- two verdicts at once


def test_two_failed_verdicts_at_once_reverse_the_refund_once(world, monkeypatch):
    """Stripe's webhook and the reconciler deliver "failed" for one refund at the same
    moment: the first reverses the approval's effects, the second waits at the lock,
    then finds the refund Failed and changes nothing. (Without the lock in ``finish``
    on PostgreSQL both read Refunding and both reverse: uma's $50 comes back twice.)"""
    from zenmux_refunds.providers import Outcome

    before = _balances_micros("uma")
    approved = _approve("uma", "UM-1")()
    assert _balances_micros("uma") != before
    hold = Hold()
    hold.point(monkeypatch, refunds, "_reverse_effects")

    def verdict(actor: str):
        return lambda: refunds.finish(approved.refund_id, Outcome.FAILED, actor=actor,
                                      detail="refused by the card issuer")

    one, two = hold.race(("_reverse_effects", verdict("provider:stripe")),
                         ("_reverse_effects", verdict("system:reconciler")))
    _raise_errors([one, two])
    assert (one, two) == ("failed", "failed")
    _assert_books("uma", hold)
    assert _balances_micros("uma") == before, (
        f"the refund was reversed twice (transactions met: {hold.met})")
    with db.reading() as s:
        reversals = s.exec(select(sa.func.count()).select_from(LedgerEntry).where(
            LedgerEntry.refund_id == approved.refund_id,
            LedgerEntry.kind == "refund_reversal")).one()
    assert reversals == 1


def _balances_micros(account_ref: str) -> tuple[int, int]:
    with db.reading() as s:
        held = ledger.balances(s, _account(account_ref).id)
    return held.topup_micros, held.bonus_micros
