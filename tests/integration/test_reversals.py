"""A refund that ends Canceled or Failed gives back every effect of its approval,
exactly once — and only a refund in progress can end that way. Each test here guards
one effect or one check that the mutation check (scripts/mutants) showed no other
test noticed when it was removed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.integration._helpers import (
    account_by_ref,
    example_data,
    approve_by_ref,
    assert_ledger_balances,
    balances_of,
    refund_actions,
    refund_row,
)
from zenmux_refunds import db
from zenmux_refunds.models import Grant, ReferralReward, Refund, TopupOrder
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import console, refunds, scenarios

DISCOUNT_MICROS = 2_500_000  # TOP-3001's $2.50 Discount bonus


def _top_3001_effects() -> tuple[str, int | None, int]:
    """(rita's reward status, the refund that revoked it, the Discount grant's
    forfeited micro-dollars) for paul's TOP-3001."""
    with db.reading() as s:
        order = s.exec(select(TopupOrder).where(TopupOrder.ref == "TOP-3001")).one()
        reward = s.exec(select(ReferralReward)
                        .where(ReferralReward.order_id == order.id)).one()
        grant = s.exec(select(Grant).where(Grant.order_id == order.id)).one()
        return reward.status, reward.revoked_by_refund_id, grant.forfeited_micros


@pytest.fixture
def paul_unspent(database_url, frozen_now):
    """The example world, but paul has made no calls: his bonus credits, TOP-3001's
    $2.50 Discount among them, are all still there to forfeit."""
    data = example_data()
    [paul] = [a for a in data["accounts"] if a["ref"] == "paul"]
    paul["usage"] = []
    scenarios.load(data)
    return database_url


def test_a_canceled_top_up_refund_gives_back_the_reward_and_the_discount(paul_unspent):
    before = _top_3001_effects()
    assert before == ("pending", None, 0)
    paul_before = balances_of("paul")
    approved = approve_by_ref("paul", "TOP-3001")
    assert _top_3001_effects() == ("revoked", approved.refund_id, DISCOUNT_MICROS)

    assert refunds.cancel(approved.refund_id, actor="paul@example.com") == "canceled"
    assert _top_3001_effects() == before  # the reward is rita's again, the bonus unforfeited
    assert balances_of("paul") == paul_before
    assert_ledger_balances()

    # and a second refund of the order forfeits the same Discount bonus again
    again = approve_by_ref("paul", "TOP-3001")
    assert _top_3001_effects() == ("revoked", again.refund_id, DISCOUNT_MICROS)
    assert paul_before.bonus_micros - balances_of("paul").bonus_micros == DISCOUNT_MICROS


def test_a_failed_verdict_for_a_canceled_refund_reverses_nothing_twice(example_db):
    approved = approve_by_ref("paul", "TOP-3001")
    refunds.cancel(approved.refund_id, actor="paul@example.com")
    after_cancel = balances_of("paul"), balances_of("rita"), _top_3001_effects()

    status = refunds.finish(approved.refund_id, Outcome.FAILED, actor="provider:test",
                            detail="a failure for a refund we canceled")
    assert status == "canceled" and refund_row(approved.refund_id).status == "canceled"
    assert (balances_of("paul"), balances_of("rita"), _top_3001_effects()) == after_cancel
    assert refund_actions(approved.refund_id).count("effects_reversed") == 1
    assert refund_actions(approved.refund_id)[-1] == "ignored"
    assert_ledger_balances()


@pytest.mark.parametrize("ref", ["RF-6001", "RF-6002"])
def test_only_a_refund_in_progress_can_be_canceled(example_db, ref):
    """RF-6001 ended Refunded and RF-6002 Failed (both from the scenario, never sent
    by us): canceling either would hand back effects that are already settled."""
    with db.reading() as s:
        refund = s.exec(select(Refund).where(Refund.ref == ref)).one()
    fiona = balances_of("fiona")
    sam = account_by_ref("sam").id
    with pytest.raises(refunds.RefundRefused, match="Only a refund in progress"):
        console.cancel(sam, refund.id)
    assert refund_row(refund.id).status == refund.status
    assert balances_of("fiona") == fiona
    assert_ledger_balances()
