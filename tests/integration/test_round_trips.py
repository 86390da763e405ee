"""Round trips per refund (issue 13 item 4): the SQL statements one preview and one
approval send, counted with SQLAlchemy's ``before_cursor_execute`` on the app's own
engines. The numbers are pinned: a new query on these paths must be a decision, not
an accident. (Before this was pinned: a top-up preview 11, an approval 25 on SQLite.)"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.models import Account, Refund
from zenmux_refunds.services import billing, quotes, refunds

# (account, order): TOP-3001 has a Discount bonus and a referral reward (the most
# work an approval does: debit, forfeit, revoke); SUB-1002 downgrades a plan.
CASES = {
    # order: {backend: (preview statements, approval statements)}. PostgreSQL sends no
    # BEGIN statement. A transaction's audit events are one INSERT (refunds.audit). The
    # approval's last SELECT reads the time zone of the customer's latest session, so
    # that the approval mail (written in the same transaction) tells times in it.
    # (Approvals before the events were one INSERT: TOP-3001 19/17, SUB-1002 13/11.)
    "TOP-3001": {"sqlite": (8, 17), "postgresql": (7, 16)},
    "SUB-1002": {"sqlite": (6, 12), "postgresql": (5, 11)},
}


class Counter:
    def __init__(self):
        self.statements: list[str] = []
        # one engine on PostgreSQL; SQLite has a second for readers
        self.engines = list({id(e): e for e in (db.engine(), db.engine(readonly=True))}.values())

    def __enter__(self):
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement.split("\n")[0][:100])


def _order(ref: str):
    with db.reading() as s:
        for account in s.exec(select(Account)).all():
            try:
                kind, order_id = quotes.order_id_by_ref(s, account, ref)
            except quotes.NotYourOrder:
                continue
            return account, kind, order_id
    raise AssertionError(f"no order {ref}")


@pytest.mark.parametrize("ref", sorted(CASES))
def test_a_preview_and_an_approval_take_a_pinned_number_of_statements(example_db, ref):
    backend = "postgresql" if example_db.startswith("postgresql") else "sqlite"
    expected_preview, expected_approval = CASES[ref][backend]
    account, kind, order_id = _order(ref)
    with Counter() as preview:
        shown = billing.preview(account.id, kind, order_id)
    assert shown.can_refund
    with Counter() as approval:
        approved = refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                                   preview_final_cents=shown.final_cents, actor=account.email)
    assert not approved.changed
    assert len(preview.statements) == expected_preview, "\n".join(preview.statements)
    assert len(approval.statements) == expected_approval, "\n".join(approval.statements)
    with db.reading() as s:
        assert s.get(Refund, approved.refund_id).final_cents == shown.final_cents
