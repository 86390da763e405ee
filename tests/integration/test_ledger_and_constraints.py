"""The wallet equals its ledger, and the database itself refuses what must never exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from tests.integration._helpers import SHIPPED_SCENARIOS, account, table_counts
from zenmux_refunds import clock, db
from zenmux_refunds.models import Account, LedgerEntry, Refund, UsageRecord, Wallet
from zenmux_refunds.services import ledger, scenarios, usage


def _assert_wallets_match_ledger() -> int:
    with db.reading() as session:
        accounts = session.exec(select(Account).order_by(Account.id)).all()
        assert accounts, "no accounts loaded"
        for acct in accounts:
            stored = session.get(Wallet, acct.id)
            assert stored is not None, f"{acct.ref} has no wallet row"
            sums = ledger.ledger_sums(session, acct.id)
            assert (stored.topup_micros, stored.bonus_micros) == (
                sums.topup_micros, sums.bonus_micros), acct.ref
        return len(accounts)


def test_example_wallets_equal_ledger_sums(example_db):
    assert _assert_wallets_match_ledger() == 8
    # and the sums are the real balances, not two equal zeros: paul 179.376543 (see
    # test_quotes_from_db), rita bonus 5.00
    with db.reading() as session:
        assert ledger.ledger_sums(session, account(session, "paul").id).topup_micros == 179_376_543
        assert ledger.ledger_sums(session, account(session, "rita").id).bonus_micros == 5_000_000


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=[p.name for p in SHIPPED_SCENARIOS])
def test_shipped_scenario_wallets_equal_ledger_sums(database_url, path):
    scenarios.load(path)
    _assert_wallets_match_ledger()


def _refund_copy(existing: Refund, **changes) -> Refund:
    fields = existing.model_dump(exclude={"id"})
    fields.update(changes)
    return Refund(**fields)


def test_second_open_refund_of_an_order_is_refused_by_the_database(example_db):
    with db.reading() as session:
        open_refund = session.exec(select(Refund).where(Refund.ref == "RF-4001")).one()
    assert open_refund.open_key  # RF-4001 is Refunding: it blocks its order
    before = table_counts(example_db)
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(_refund_copy(open_refund, ref="RF-4001-TWIN",
                                     idempotency_key="test-twin-key"))
            session.flush()
    assert table_counts(example_db) == before


def test_refunds_without_open_key_may_repeat(example_db):
    """Control for the test above: the same row without an open_key is accepted."""
    with db.reading() as session:
        open_refund = session.exec(select(Refund).where(Refund.ref == "RF-4001")).one()
    with db.transaction() as session:
        session.add(_refund_copy(open_refund, ref="RF-4001-FAILED", status="failed",
                                 open_key=None, idempotency_key="test-failed-key"))
    assert table_counts(example_db)["refund"] == 4


def test_duplicate_call_id_is_refused_by_the_database(example_db):
    with db.reading() as session:
        existing = session.exec(select(UsageRecord).order_by(UsageRecord.id)).first()
    before = table_counts(example_db)
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(UsageRecord(call_id=existing.call_id, account_id=existing.account_id,
                                    at=existing.at, amount_micros=1, billed_to="credits",
                                    running_total_micros=1, recorded_at=existing.recorded_at))
            session.flush()
    assert table_counts(example_db) == before


def test_ledger_entry_for_a_missing_account_is_refused(example_db):
    before = table_counts(example_db)
    with db.reading() as session:
        at = clock.now(session)
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(LedgerEntry(account_id=987_654, at=at, bucket="topup",
                                    amount_micros=1_000_000, kind="adjustment"))
            session.flush()
    assert table_counts(example_db) == before


def test_usage_record_counts_a_call_id_once(example_db):
    with db.transaction() as session:
        paul = account(session, "paul")
        ledger.lock_account(session, paul.id)
        now = clock.now(session)
        first = usage.record(session, account=paul, call_id="test-call-1", at=now,
                             amount_micros=1_234_567, billed_to="credits", recorded_at=now)
    assert first.duplicate is False
    with db.reading() as session:
        paul = account(session, "paul")
        after_first = (paul.usage_credits_micros, ledger.balances(session, paul.id))
        records = table_counts(example_db)["usagerecord"]
    # 179.376543 - 1.234567 = 178.141976 (bonus is empty)
    assert after_first[1].topup_micros == 178_141_976
    # 4.00 + 6.123456 + 1.000001 + 1.234567 = 12.358024
    assert after_first[0] == 12_358_024

    with db.transaction() as session:
        paul = account(session, "paul")
        ledger.lock_account(session, paul.id)
        now = clock.now(session) + timedelta(minutes=1)
        again = usage.record(session, account=paul, call_id="test-call-1", at=now,
                             amount_micros=9_000_000, billed_to="credits", recorded_at=now)
    assert again.duplicate is True
    assert again.record.id == first.record.id
    assert again.record.amount_micros == 1_234_567
    with db.reading() as session:
        paul = account(session, "paul")
        assert (paul.usage_credits_micros, ledger.balances(session, paul.id)) == after_first
    assert table_counts(example_db)["usagerecord"] == records
    _assert_wallets_match_ledger()


def test_usage_moves_the_running_total_of_the_quote(example_db):
    """A new credits call after TOP-3002's payment raises its usage (a difference of two
    running totals): 1.000001 + 0.01 = 1.010001 -> $1.02 rounded up."""
    from zenmux_refunds.domain.money import format_usd
    from zenmux_refunds.services import quotes

    with db.transaction() as session:
        paul = account(session, "paul")
        ledger.lock_account(session, paul.id)
        now = clock.now(session)
        usage.record(session, account=paul, call_id="test-call-2", at=now,
                     amount_micros=10_000, billed_to="credits", recorded_at=now)
    with db.reading() as session:
        paul = account(session, "paul")
        kind, order_id = quotes.order_id_by_ref(session, paul, "TOP-3002")
        q = quotes.quote_order(session, paul, kind, order_id, clock.now(session))
    assert format_usd(q.decision.quote.usage_cents) == "$1.02"
