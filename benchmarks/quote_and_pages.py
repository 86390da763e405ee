"""Benchmark: the refund quote and a billing page against a growing history.

Prints, for each history size, the median time of one quote (must stay flat: it reads
stored totals) and of one Transactions page (server-side pagination over an index).
Runs on a throw-away SQLite database unless DATABASE_URL names another.

    .venv/bin/python benchmarks/quote_and_pages.py [SIZES...]   # default 100 1000 10000
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("ZENMUX_NOW", "2026-11-26T12:00:00Z")
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.db"

from sqlmodel import select  # noqa: E402

from zenmux_refunds import clock, db  # noqa: E402
from zenmux_refunds.models import Account  # noqa: E402
from zenmux_refunds.services import credits, ledger, quotes, scenarios, usage  # noqa: E402

RUNS = 200


def world() -> dict:
    return {"now": "2026-11-26T12:00:00Z", "accounts": [{
        "ref": "heavy", "email": "heavy@example.com", "name": "Heavy User",
        "password": "bench-pass", "topups": [
            {"ref": "TOP-1", "amount": "100000.00", "channel": "stripe",
             "paid_at": "2026-01-01T00:00:00Z", "status": "paid"},
            {"ref": "TOP-2", "amount": "50.00", "channel": "stripe",
             "paid_at": "2026-11-26T11:00:00Z", "status": "paid"}]}]}


def grow(account_id: int, calls: int) -> None:
    with db.transaction() as s:
        ledger.lock_account(s, account_id)
        account = s.get(Account, account_id)
        at = clock.now(s) - timedelta(minutes=30)
        for i in range(calls):
            usage.record(s, account=account, call_id=f"bench-{account.usage_credits_micros}-{i}",
                         at=at, amount_micros=1_234, billed_to=usage.CREDITS, recorded_at=at)


def median_ms(fn) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(sizes: list[int]) -> None:
    scenarios.load(world(), replace=True)
    with db.reading() as s:
        account = s.exec(select(Account)).one()
        kind, order_id = quotes.order_id_by_ref(s, account, "TOP-2")
    have = 0
    print(f"{'usage records':>14} {'quote ms':>9} {'tx page ms':>11}")
    for size in sizes:
        grow(account.id, size - have)
        have = size

        def quote():
            with db.reading() as s:
                quotes.quote_order(s, account, kind, order_id, clock.now(s))

        page = lambda: credits.transactions(account.id, page=1, page_size=20)  # noqa: E731
        print(f"{size:>14} {median_ms(quote):>9.3f} {median_ms(page):>11.3f}")
    print(statements(account, kind, order_id))


def statements(account: Account, kind: str, order_id: int) -> str:
    """One line: the SQL statements of one refund preview and of one approval."""
    from sqlalchemy import event

    from zenmux_refunds.services import billing, refunds

    sent: list[str] = []
    count = lambda *args: sent.append(args[2])  # noqa: E731 - before_cursor_execute
    engines = list({id(e): e for e in (db.engine(), db.engine(readonly=True))}.values())
    for e in engines:
        event.listen(e, "before_cursor_execute", count)
    try:
        shown = billing.preview(account.id, kind, order_id)
        previewed = len(sent)
        refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                        preview_final_cents=shown.final_cents, actor=account.email)
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", count)
    return (f"SQL statements: preview {previewed}, approval {len(sent) - previewed} "
            f"({db.engine().dialect.name})")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
