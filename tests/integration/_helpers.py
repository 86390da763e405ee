"""Small helpers shared by the integration tests (no fixtures here: see tests/conftest.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import db
from zenmux_refunds.models import ALL_TABLES, Account

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SCENARIO = PROJECT_ROOT / "scenarios" / "example.json"
SHARED_EXAMPLE = PROJECT_ROOT.parent / "shared" / "example-scenario.json"
SHIPPED_SCENARIOS = sorted((PROJECT_ROOT / "scenarios").glob("*.json"))

_example_cache: dict | None = None


def example_data() -> dict:
    """A fresh deep copy of scenarios/example.json, safe to break."""
    global _example_cache
    if _example_cache is None:
        _example_cache = json.loads(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    return copy.deepcopy(_example_cache)


def table_counts(url: str) -> dict[str, int | None]:
    """Row count of every application table; None for a table that does not exist."""
    eng = db.engine(url)
    present = set(sa.inspect(eng).get_table_names())
    counts: dict[str, int | None] = {}
    with eng.connect() as conn:
        for model in ALL_TABLES:
            name = model.__tablename__
            if name not in present:
                counts[name] = None
            else:
                counts[name] = conn.execute(
                    sa.select(sa.func.count()).select_from(model.__table__)
                ).scalar_one()
    return counts


def assert_no_rows(url: str) -> None:
    counts = table_counts(url)
    holding = {name: n for name, n in counts.items() if n not in (None, 0)}
    assert holding == {}, f"the database still holds rows: {holding}"


def account(session: Session, ref: str) -> Account:
    return session.exec(select(Account).where(Account.ref == ref)).one()


def person(ref: str, **extra) -> dict:
    """A scenario account with the usual required fields."""
    return {"ref": ref, "email": f"{ref}@example.com", "name": ref.capitalize(),
            "password": f"{ref}-pass", **extra}


def refund_row(refund_id: int):
    """The refund as stored now."""
    from zenmux_refunds.models import Refund

    with db.reading() as s:
        return s.get(Refund, refund_id)


def refund_events(refund_id: int) -> list:
    """The refund's audit trail, oldest first."""
    from zenmux_refunds.models import RefundEvent

    with db.reading() as s:
        return list(s.exec(select(RefundEvent).where(RefundEvent.refund_id == refund_id)
                           .order_by(RefundEvent.id)).all())


def refund_actions(refund_id: int) -> list[str]:
    return [e.action for e in refund_events(refund_id)]


# ------------------------------------------------ accounts, approvals, ledger checks


def account_by_ref(ref: str) -> Account:
    with db.reading() as s:
        return s.exec(select(Account).where(Account.ref == ref)).one()


def approve_by_ref(account_ref: str, order_ref: str, preview: int | None = None):
    """The customer's second confirmation of one of their orders, named by refs."""
    from zenmux_refunds.services import quotes, refunds

    account = account_by_ref(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                           preview_final_cents=preview, actor=account.email)


def balances_of(account_ref: str):
    from zenmux_refunds.services import ledger

    with db.reading() as s:
        return ledger.balances(s, account_by_ref(account_ref).id)


def assert_ledger_balances() -> None:
    """Every account's stored balances equal the sums of its ledger entries."""
    from zenmux_refunds.services import ledger

    with db.reading() as s:
        for account in s.exec(select(Account)).all():
            assert ledger.balances(s, account.id) == ledger.ledger_sums(s, account.id), account.ref


def nothing_written(url: str) -> bool:
    """No row in any table: on SQLite not even a table (nothing migrated); on PostgreSQL
    the test database is a copy of a migrated template, so its tables are empty."""
    empty = None if url.startswith("sqlite") else 0
    return all(n == empty for n in table_counts(url).values())
