"""The refund dialog's confirm checks the tab's session again inside the approval's own
transaction (ui/refund_dialog._SessionAtCommit): the status is shown only to a
session that was live, and the account's, when the refund was written. One statement
on the approval's connection, not a read of its own after the commit."""

from __future__ import annotations

from sqlalchemy import event

from tests.integration._helpers import account_by_ref, refund_row
from zenmux_refunds import db
from zenmux_refunds.i18n import Locale
from zenmux_refunds.services import auth, billing, preferences, quotes, refunds
from zenmux_refunds.ui.refund_dialog import _SessionAtCommit

ALICE = ("alice@example.com", "alice-demo-pass")


def _sub_1002():
    alice = account_by_ref("alice")
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, alice, "SUB-1002")
    return alice, kind, order_id


def _confirm(token: str, within=None) -> tuple[refunds.Approved, _SessionAtCommit]:
    alice, kind, order_id = _sub_1002()
    shown = billing.preview(alice.id, kind, order_id)
    check = within or _SessionAtCommit(token)
    approved = refunds.request_refund(
        account_id=alice.id, kind=kind, order_id=order_id,
        preview_final_cents=shown.final_cents, actor=alice.email,
        dispatch=lambda refund_id: None, within=check)
    return approved, check


def test_a_live_session_gets_its_locale_and_no_other_account_does(example_db):
    token = auth.sign_in(*ALICE)
    preferences.set_time_zone(token, "Asia/Shanghai")
    approved, check = _confirm(token)
    alice = account_by_ref("alice")
    assert check.locale_of(alice.id) == Locale("en", "Asia/Shanghai")
    assert check.locale_of(account_by_ref("paul").id) is None
    assert refund_row(approved.refund_id).status == "refunding"


def test_a_session_signed_out_before_the_commit_is_shown_nothing_and_the_refund_stands(
        example_db):
    token = auth.sign_in(*ALICE)
    check = _SessionAtCommit(token)

    def sign_out_first(s, refund, now):
        # another tab of the same browser signs out while this approval runs: on
        # PostgreSQL that commits at once; on SQLite it queues behind the approval's
        # write lock, so here its effect is written in the approval's transaction
        if s.get_bind().dialect.name == "postgresql":
            auth.sign_out(token)
        else:
            auth._revoke(s, token)
            s.flush()
        check(s, refund, now)

    approved, _ = _confirm(token, within=sign_out_first)
    assert check.locale_of(account_by_ref("alice").id) is None
    assert refund_row(approved.refund_id).status == "refunding"


def test_the_check_is_one_statement_on_the_approvals_connection(example_db):
    token = auth.sign_in(*ALICE)
    alice, kind, order_id = _sub_1002()
    shown = billing.preview(alice.id, kind, order_id)
    approvals, readers = db.engine(), db.engine(readonly=True)  # one on PostgreSQL
    sent: list[tuple[str, str]] = []
    hooks = {id(e): (e, lambda conn, cursor, statement, *rest, name=name:
                     sent.append((name, statement)))
             for name, e in (("reader", readers), ("approval", approvals))}
    for engine, hook in hooks.values():
        event.listen(engine, "before_cursor_execute", hook)
    try:
        refunds.request_refund(
            account_id=alice.id, kind=kind, order_id=order_id,
            preview_final_cents=shown.final_cents, actor=alice.email,
            dispatch=lambda refund_id: None, within=_SessionAtCommit(token))
    finally:
        for engine, hook in hooks.values():
            event.remove(engine, "before_cursor_execute", hook)
    session_reads = [(name, s) for name, s in sent if "authsession.token_hash" in s]
    assert [name for name, _ in session_reads] == ["approval"], sent
    assert all(name == "approval" for name, _ in sent), sent  # no connection of its own
