"""What an approval writes with statements of its own, not the ORM's unit of work
(issue 13's confirm latency): the refund row, its ledger entries, its audit events (one
INSERT at the commit), and the plan, grant and reward it changes (db.write_through).
The rest of the transaction (``within``, as an e-mail request's decision or the dialog's
session check run there) must still see every effect through the session, and a refused
approval must leave none of them."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.integration._helpers import account_by_ref
from zenmux_refunds import db
from zenmux_refunds.models import CurrentPlan, LedgerEntry, ReferralReward, Refund, RefundEvent, Wallet
from zenmux_refunds.services import billing, quotes, refunds


def _order(account_ref: str, order_ref: str):
    account = account_by_ref(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return account, kind, order_id


def _approve(account, kind, order_id, within):
    shown = billing.preview(account.id, kind, order_id)
    return refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                           preview_final_cents=shown.final_cents, actor=account.email,
                           within=within)


def test_the_rest_of_the_transaction_sees_the_dropped_plan_through_the_session(example_db):
    alice, kind, order_id = _order("alice", "SUB-1002")
    with db.reading() as s:
        before = s.get(CurrentPlan, alice.id).plan
    assert before != "Free"
    seen = {}

    def look(s, refund, now):
        plan = s.get(CurrentPlan, alice.id)  # the object the approval loaded and changed
        seen["plan"], seen["payment_id"] = plan.plan, plan.payment_id
        seen["dirty"] = list(s.dirty)  # written already: nothing left for the commit
        seen["refund"] = s.exec(select(Refund.status).where(Refund.id == refund.id)).one()

    approved = _approve(alice, kind, order_id, look)
    assert seen == {"plan": "Free", "payment_id": None, "dirty": [], "refund": "refunding"}
    with db.reading() as s:
        assert s.get(CurrentPlan, alice.id).plan == "Free"
        actions = s.exec(select(RefundEvent.action).where(RefundEvent.refund_id ==
                                                          approved.refund_id)
                         .order_by(RefundEvent.id)).all()
    assert actions == ["approved", "plan_downgraded"]


def test_the_rest_of_the_transaction_sees_the_top_ups_effects(example_db):
    paul, kind, order_id = _order("paul", "TOP-3001")
    with db.reading() as s:
        topup_before = s.get(Wallet, paul.id).topup_micros
    seen = {}

    def look(s, refund, now):
        seen["topup"] = s.get(Wallet, paul.id).topup_micros
        seen["reward"] = s.exec(select(ReferralReward.status)
                                .where(ReferralReward.order_id == order_id)).one()
        seen["entries"] = s.exec(select(LedgerEntry.amount_micros)
                                 .where(LedgerEntry.refund_id == refund.id)).all()

    approved = _approve(paul, kind, order_id, look)
    debit = approved.quote.refundable_cents * 10_000
    assert seen["topup"] == topup_before - debit
    assert seen["reward"] == "revoked"
    assert seen["entries"][0] == -debit
    with db.reading() as s:
        assert s.get(Wallet, paul.id).topup_micros == topup_before - debit


@pytest.mark.parametrize("account_ref, order_ref", [("alice", "SUB-1002"), ("paul", "TOP-3001")])
def test_a_refusal_inside_the_transaction_leaves_no_trace(example_db, account_ref, order_ref):
    account, kind, order_id = _order(account_ref, order_ref)

    def count(s):
        return {model.__name__: len(s.exec(select(model)).all())
                for model in (Refund, RefundEvent, LedgerEntry)}

    with db.reading() as s:
        before = count(s)
        plan = s.get(CurrentPlan, account.id)
        plan_before = (plan.plan, plan.payment_id) if plan else None
        rewards_before = s.exec(select(ReferralReward.status).order_by(ReferralReward.id)).all()

    def refuse(s, refund, now):
        raise refunds.RefundRefused("refused at the last moment")

    with pytest.raises(refunds.RefundRefused):
        _approve(account, kind, order_id, refuse)
    with db.reading() as s:
        assert count(s) == before
        plan = s.get(CurrentPlan, account.id)
        assert ((plan.plan, plan.payment_id) if plan else None) == plan_before
        assert s.exec(select(ReferralReward.status)
                      .order_by(ReferralReward.id)).all() == rewards_before
