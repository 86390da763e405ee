"""Loading scenario files: refusals that name the field and write nothing, all-or-nothing
loads, and the loader's rules (referral rewards, partial refunds, plans, bonus-first usage).

Expected amounts are worked out by hand in the comments.
"""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.integration._helpers import (
    EXAMPLE_SCENARIO,
    SHARED_EXAMPLE,
    SHIPPED_SCENARIOS,
    account,
    assert_no_rows,
    example_data,
    nothing_written,
    person,
    table_counts,
)
from zenmux_refunds import clock, db
from zenmux_refunds.domain.money import format_instant, format_usd, format_usd_micros
from zenmux_refunds.domain.policy import window_remaining_text
from zenmux_refunds.models import (
    ClockSetting,
    CurrentPlan,
    Grant,
    LedgerEntry,
    ReferralReward,
    Refund,
    TopupOrder,
)
from zenmux_refunds.services import ledger, quotes, scenario_format, scenarios
from zenmux_refunds.services.scenario_format import ScenarioError

NOW = "2026-11-26T12:00:00Z"

# Account indexes in example.json: 0 alice, 1 gary, 2 hana, 3 paul, 4 rita, 5 ivan,
# 6 fiona, 7 sam. paul's topups: 0 TOP-3003, 1 TOP-3001, 2 TOP-3002, 3 TOP-3004, 4 TOP-3005.


def _set(path, value):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _rename(path, old, new):
    def mutate(d):
        target = d
        for key in path:
            target = target[key]
        target[new] = target.pop(old)
    return mutate


def _delete(path):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


BROKEN = [
    ("naive-topup-instant", _set(["accounts", 3, "topups", 0, "paid_at"], "2026-11-24T10:00:00"),
     "accounts[3].topups[0].paid_at"),
    ("naive-subscription-instant",
     _set(["accounts", 0, "subscription_payments", 1, "paid_at"], "2026-11-26T02:00:00"),
     "accounts[0].subscription_payments[1].paid_at"),
    ("not-an-instant", _set(["accounts", 3, "usage", 0, "at"], "yesterday"),
     "accounts[3].usage[0].at"),
    ("duplicate-email", _set(["accounts", 1, "email"], "alice@example.com"), "accounts[1].email"),
    ("duplicate-email-other-case", _set(["accounts", 1, "email"], "Alice@Example.COM"),
     "accounts[1].email"),
    ("duplicate-order-ref", _set(["accounts", 3, "topups", 2, "ref"], "TOP-3001"),
     "accounts[3].topups[2].ref"),
    ("duplicate-account-ref", _set(["accounts", 1, "ref"], "alice"), "accounts[1].ref"),
    ("refund-ref-equals-order-ref", _set(["accounts", 4, "refunds", 0, "ref"], "TOP-4001"),
     "accounts[4].refunds[0].ref"),
    ("unknown-field", _rename(["accounts", 3, "topups", 0], "channel", "chanel"),
     "accounts[3].topups[0].chanel"),
    ("unknown-top-level-field", _set(["clock"], "frozen"), "clock"),
    ("three-decimals", _set(["accounts", 0, "subscription_payments", 0, "amount"], "20.001"),
     "accounts[0].subscription_payments[0].amount"),
    ("negative-amount", _set(["accounts", 0, "subscription_payments", 0, "amount"], "-20.00"),
     "accounts[0].subscription_payments[0].amount"),
    ("zero-amount", _set(["accounts", 3, "topups", 0, "amount"], "0.00"),
     "accounts[3].topups[0].amount"),
    ("json-number-amount", _set(["accounts", 3, "topups", 0, "amount"], 25.0),
     "accounts[3].topups[0].amount"),
    ("unknown-plan", _set(["accounts", 0, "subscription_payments", 0, "plan"], "Mega"),
     "accounts[0].subscription_payments[0].plan"),
    ("unknown-status", _set(["accounts", 3, "topups", 0, "status"], "settled"),
     "accounts[3].topups[0].status"),
    ("unknown-currency", _set(["accounts", 3, "topups", 2, "charged", "currency"], "XYZ"),
     "accounts[3].topups[2].charged.currency"),
    ("unknown-referrer", _set(["accounts", 3, "topups", 1, "referrer"], "nobody"),
     "accounts[3].topups[1].referrer"),
    ("refund-of-another-accounts-order", _set(["accounts", 4, "refunds", 0, "order"], "TOP-3001"),
     "accounts[4].refunds[0].order"),
    ("refund-of-unknown-order", _set(["accounts", 4, "refunds", 0, "order"], "TOP-0000"),
     "accounts[4].refunds[0].order"),
    # paul holds at most 185.00 + 5.50 bonus: 500.00 of usage overdraws (found while loading)
    ("usage-overdraws-wallet", _set(["accounts", 3, "usage", 2, "amount"], "500.00"),
     "accounts[3].usage[2].amount"),
    # ivan's wallet holds 10.00 when a 40.00 refund of TOP-5001 would take 40.00
    ("refund-larger-than-wallet",
     _set(["accounts", 5, "refunds"], [{"ref": "RF-5001", "order": "TOP-5001", "amount": "40.00",
                                        "status": "refunded",
                                        "requested_at": "2026-11-26T08:00:00Z"}]),
     "accounts[5].refunds[0].amount"),
    ("missing-now", _delete(["now"]), "now"),
    ("missing-email", _delete(["accounts", 2, "email"]), "accounts[2].email"),
    ("accounts-not-a-list", _set(["accounts"], {"alice": {}}), "accounts"),
]


@pytest.mark.parametrize("mutate,field", [(m, f) for _n, m, f in BROKEN],
                         ids=[n for n, _m, _f in BROKEN])
def test_malformed_scenario_is_refused_and_writes_nothing(database_url, mutate, field):
    data = example_data()
    mutate(data)
    with pytest.raises(ScenarioError) as caught:
        scenarios.load(data)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert_no_rows(database_url)


def test_instant_after_now_names_the_instant_field(database_url):
    data = example_data()
    data["accounts"][3]["usage"][2]["at"] = "2026-11-27T00:00:00Z"
    with pytest.raises(ScenarioError) as caught:
        scenarios.load(data)
    assert_no_rows(database_url)
    assert caught.value.field == "accounts[3].usage[2].at"


def test_instant_after_now_is_refused_and_writes_nothing(database_url):
    data = example_data()
    data["accounts"][3]["usage"][2]["at"] = "2026-11-27T00:00:00Z"
    with pytest.raises(ScenarioError) as caught:
        scenarios.load(data)
    assert caught.value.field.startswith("accounts[3].usage[2]")
    assert_no_rows(database_url)


def test_parse_refuses_an_instant_after_now(database_url):
    data = example_data()
    data["accounts"][3]["usage"][2]["at"] = "2026-11-27T00:00:00Z"
    with pytest.raises(ScenarioError) as caught:
        scenario_format.parse(data)
    assert caught.value.field == "accounts[3].usage[2].at"


def test_parse_alone_validates_the_example_without_a_database(database_url):
    parsed = scenario_format.parse(example_data())
    assert format_instant(parsed.now) == "2026-11-26 12:00 UTC"
    assert [a.ref for a in parsed.accounts] == [
        "alice", "gary", "hana", "paul", "rita", "ivan", "fiona", "sam"]
    assert nothing_written(database_url)


# ------------------------------------------------------------- all or nothing


def _small_world() -> dict:
    return {"now": NOW, "accounts": [
        person("zoe", topups=[{"ref": "TOP-Z1", "amount": "12.00", "channel": "stripe",
                               "paid_at": "2026-11-26T10:00:00Z", "status": "paid"}]),
        person("yuri"),
    ]}


def test_loading_into_a_non_empty_database_is_refused_and_changes_nothing(example_db):
    before = table_counts(example_db)
    with pytest.raises(ScenarioError) as caught:
        scenarios.load(_small_world())
    assert "replace" in str(caught.value)
    assert table_counts(example_db) == before
    with db.reading() as session:
        assert session.get(ClockSetting, 1).scenario_name == "example"
        assert account(session, "alice").email == "alice@example.com"


def test_replace_reloads_to_the_counts_of_a_single_load(example_db):
    single = table_counts(example_db)
    example = example_data()
    # from the file: 8 accounts, 13 orders, 3 refunds, 3+0+1+3+0+0+0 usage rows
    assert single["account"] == len(example["accounts"]) == 8
    assert single["refund"] == 3
    assert single["usagerecord"] == 7
    result = scenarios.load(EXAMPLE_SCENARIO, replace=True)
    assert (result.accounts, result.orders, result.refunds) == (8, 13, 3)
    assert table_counts(example_db) == single


def test_replace_with_another_scenario_leaves_only_it(example_db):
    scenarios.load(_small_world(), replace=True, name="small")
    counts = table_counts(example_db)
    assert counts["account"] == 2
    assert counts["topuporder"] == 1
    assert counts["subscriptionpayment"] == 0
    assert counts["refund"] == 0
    assert counts["usagerecord"] == 0
    assert counts["referralreward"] == 0
    with db.reading() as session:
        assert session.get(ClockSetting, 1).scenario_name == "small"
        zoe = account(session, "zoe")
        assert format_usd_micros(ledger.balances(session, zoe.id).topup_micros) == "$12.00"


def test_failed_replace_keeps_the_previous_world(example_db):
    before = table_counts(example_db)
    broken = example_data()
    broken["accounts"][3]["usage"][2]["amount"] = "500.00"  # fails half-way through loading
    with pytest.raises(ScenarioError) as caught:
        scenarios.load(broken, replace=True)
    assert caught.value.field == "accounts[3].usage[2].amount"
    assert table_counts(example_db) == before
    with db.reading() as session:
        b = ledger.balances(session, account(session, "paul").id)
    assert b.topup_micros == 179_376_543


def test_unknown_file_is_refused(database_url, tmp_path):
    with pytest.raises(ScenarioError):
        scenarios.load(tmp_path / "nope.json")
    assert_no_rows(database_url)


# ------------------------------------------------------------- referral rewards


def _referral_world(*, paid_at: str, refunds: list | None = None) -> dict:
    return {"now": NOW, "accounts": [
        person("rita"),
        person("paul", topups=[{"ref": "TOP-1", "amount": "30.00", "channel": "stripe",
                                "paid_at": paid_at, "status": "paid", "referrer": "rita"}],
               refunds=refunds or []),
    ]}


def _rita_money(session):
    rita = account(session, "rita")
    grants = session.exec(select(Grant).where(Grant.account_id == rita.id)).all()
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.account_id == rita.id)
                           .order_by(LedgerEntry.id)).all()
    reward = session.exec(select(ReferralReward)).one()
    return rita, grants, entries, reward


def test_reward_is_granted_once_the_window_has_closed(database_url):
    # paid 11-25 06:00: the window closed 11-26 06:00, before now (12:00)
    scenarios.load(_referral_world(paid_at="2026-11-25T06:00:00Z"))
    with db.reading() as session:
        rita, grants, entries, reward = _rita_money(session)
        bal = ledger.balances(session, rita.id)
        paul_bal = ledger.balances(session, account(session, "paul").id)
    assert reward.status == "granted"
    assert reward.referrer_id == rita.id
    assert [(g.kind, g.amount_micros) for g in grants] == [("referral", 5_000_000)]
    assert format_instant(grants[0].at) == "2026-11-26 06:00 UTC"
    assert reward.grant_id == grants[0].id
    assert [(e.bucket, e.kind, e.amount_micros, e.grant_id) for e in entries] == [
        ("bonus", "referral", 5_000_000, grants[0].id)]
    assert (bal.topup_micros, bal.bonus_micros) == (0, 5_000_000)
    assert (paul_bal.topup_micros, paul_bal.bonus_micros) == (30_000_000, 0)


@pytest.mark.parametrize("paid_at,status", [
    ("2026-11-25T12:00:00Z", "granted"),   # exactly 24h before now: the window has closed
    ("2026-11-25T12:01:00Z", "pending"),   # 1 minute of window left
])
def test_reward_at_the_window_boundary(database_url, paid_at, status):
    scenarios.load(_referral_world(paid_at=paid_at))
    with db.reading() as session:
        rita, grants, _entries, reward = _rita_money(session)
        bal = ledger.balances(session, rita.id)
    assert reward.status == status
    assert len(grants) == (1 if status == "granted" else 0)
    assert bal.bonus_micros == (5_000_000 if status == "granted" else 0)


def test_refunding_refund_revokes_a_pending_reward(database_url):
    scenarios.load(_referral_world(
        paid_at="2026-11-25T06:00:00Z",
        refunds=[{"ref": "RF-1", "order": "TOP-1", "amount": "30.00", "status": "refunding",
                  "requested_at": "2026-11-25T08:00:00Z"}]))
    with db.reading() as session:
        rita, grants, entries, reward = _rita_money(session)
        bal = ledger.balances(session, rita.id)
        paul_bal = ledger.balances(session, account(session, "paul").id)
    assert reward.status == "revoked"
    assert grants == [] and entries == []
    assert bal.bonus_micros == 0
    assert paul_bal.topup_micros == 0  # the 30.00 is held by the refund in progress


def test_refund_after_the_grant_claws_the_reward_back(database_url):
    # granted at 11-26 06:00, the (support) refund comes at 07:00 and takes it back
    scenarios.load(_referral_world(
        paid_at="2026-11-25T06:00:00Z",
        refunds=[{"ref": "RF-1", "order": "TOP-1", "amount": "30.00", "status": "refunding",
                  "requested_at": "2026-11-26T07:00:00Z"}]))
    with db.reading() as session:
        rita, _grants, entries, reward = _rita_money(session)
        bal = ledger.balances(session, rita.id)
    assert reward.status == "revoked"
    assert [(e.kind, e.amount_micros) for e in entries] == [
        ("referral", 5_000_000), ("clawback", -5_000_000)]
    assert bal.bonus_micros == 0


def test_failed_refund_does_not_revoke_the_reward(database_url):
    scenarios.load(_referral_world(
        paid_at="2026-11-25T06:00:00Z",
        refunds=[{"ref": "RF-1", "order": "TOP-1", "amount": "30.00", "status": "failed",
                  "requested_at": "2026-11-25T08:00:00Z"}]))
    with db.reading() as session:
        rita, grants, _entries, reward = _rita_money(session)
        bal = ledger.balances(session, rita.id)
        paul_bal = ledger.balances(session, account(session, "paul").id)
    assert reward.status == "granted"
    assert bal.bonus_micros == 5_000_000
    assert paul_bal.topup_micros == 30_000_000


# ------------------------------------------------------------- refunds and plans


def _sub_world(refunds: list) -> dict:
    return {"now": NOW, "accounts": [person("alice", subscription_payments=[
        {"ref": "SUB-1", "plan": "Pro", "amount": "20.00", "currency": "USD",
         "channel": "stripe", "paid_at": "2026-11-26T10:00:00Z", "status": "paid"}],
        usage=[{"at": "2026-11-26T10:30:00Z", "amount": "1.00", "billed_to": "subscription"}],
        refunds=refunds)]}


def _quote(ref_account: str, order_ref: str):
    with db.reading() as session:
        acct = account(session, ref_account)
        kind, order_id = quotes.order_id_by_ref(session, acct, order_ref)
        q = quotes.quote_order(session, acct, kind, order_id, clock.now(session))
        plan = session.get(CurrentPlan, acct.id).plan
    return q, plan


def test_partial_refunds_count_as_already_refunded_and_keep_the_plan(database_url, frozen_now):
    scenarios.load(_sub_world([
        {"ref": "RF-1", "order": "SUB-1", "amount": "5.00", "kind": "partial",
         "status": "refunded", "requested_at": "2026-11-26T11:00:00Z"},
        {"ref": "RF-2", "order": "SUB-1", "amount": "3.00", "kind": "partial",
         "status": "refunded", "requested_at": "2026-11-26T11:10:00Z"},
        {"ref": "RF-3", "order": "SUB-1", "amount": "4.00", "kind": "partial",
         "status": "failed", "requested_at": "2026-11-26T11:20:00Z"},
    ]))
    q, plan = _quote("alice", "SUB-1")
    assert plan == "Pro"
    d = q.decision
    assert d.eligible is True and d.reason is None
    # 20.00 - usage 1.00 - (5.00 + 3.00; the failed 4.00 counts nothing) = 11.00;
    # final floor(1100 * 95 / 100) = 1045; fee 55
    assert format_usd(d.quote.already_refunded_cents) == "$8.00"
    assert format_usd(d.quote.refundable_cents) == "$11.00"
    assert format_usd(d.quote.final_cents) == "$10.45"
    assert format_usd(d.quote.fee_cents) == "$0.55"
    assert window_remaining_text(d.window_remaining) == "Refund window remaining 22h 0m"


@pytest.mark.parametrize("status,plan,reason", [
    ("refunding", "Free", "Refund in progress"),
    ("refunded", "Free", "Fully refunded"),
    ("failed", "Pro", None),
    ("canceled", "Pro", None),
])
def test_full_subscription_refund_and_the_plan(database_url, frozen_now, status, plan, reason):
    scenarios.load(_sub_world([
        {"ref": "RF-1", "order": "SUB-1", "amount": "19.00", "status": status,
         "requested_at": "2026-11-26T11:00:00Z"}]))
    q, shown_plan = _quote("alice", "SUB-1")
    assert shown_plan == plan
    assert (str(q.decision.reason) if q.decision.reason else None) == reason
    assert q.latest_refund.ref == "RF-1" and q.latest_refund.status == status


def test_partial_topup_refund_is_debited_and_counted(database_url, frozen_now):
    scenarios.load({"now": NOW, "accounts": [person("paul", topups=[
        {"ref": "TOP-1", "amount": "50.00", "channel": "stripe",
         "paid_at": "2026-11-26T10:00:00Z", "status": "paid"}], refunds=[
        {"ref": "RF-1", "order": "TOP-1", "amount": "10.00", "kind": "partial",
         "status": "refunded", "requested_at": "2026-11-26T11:00:00Z"}])]})
    q, _plan = _quote("paul", "TOP-1")
    with db.reading() as session:
        b = ledger.balances(session, account(session, "paul").id)
    assert format_usd_micros(b.topup_micros) == "$40.00"
    d = q.decision
    # 50.00 - 0 - 10.00 = 40.00; final floor(4000*.95) = 3800; fee 200; wallet 40.00 suffices
    assert d.eligible is True
    assert format_usd(d.quote.already_refunded_cents) == "$10.00"
    assert format_usd(d.quote.final_cents) == "$38.00"
    assert format_usd(d.quote.fee_cents) == "$2.00"


def test_existing_refunding_topup_refund_holds_the_credits(example_db):
    with db.reading() as session:
        rita = account(session, "rita")
        refund = session.exec(select(Refund).where(Refund.ref == "RF-4001")).one()
        order = session.get(TopupOrder, refund.topup_order_id)
        entries = session.exec(select(LedgerEntry).where(LedgerEntry.refund_id == refund.id)).all()
    assert order.ref == "TOP-4001" and refund.account_id == rita.id
    assert refund.status == "refunding" and refund.open_key is not None
    assert [(e.bucket, e.amount_micros) for e in entries] == [("topup", -20_000_000)]


# ------------------------------------------------------------- usage


def test_usage_is_drawn_bonus_first(database_url):
    scenarios.load({"now": NOW, "accounts": [person(
        "paul",
        topups=[{"ref": "TOP-1", "amount": "10.00", "channel": "stripe", "bonus": "2.00",
                 "paid_at": "2026-11-26T08:00:00Z", "status": "paid"}],
        grants=[{"kind": "gift", "amount": "1.00", "at": "2026-11-26T09:00:00Z"}],
        usage=[{"at": "2026-11-26T10:00:00Z", "amount": "2.50"},
               {"at": "2026-11-26T10:30:00Z", "amount": "5.00", "billed_to": "subscription"},
               {"at": "2026-11-26T11:00:00Z", "amount": "1.00"}],
    )]})
    with db.reading() as session:
        paul = account(session, "paul")
        b = ledger.balances(session, paul.id)
        usage_entries = session.exec(
            select(LedgerEntry).where(LedgerEntry.account_id == paul.id,
                                      LedgerEntry.kind == "usage").order_by(LedgerEntry.id)).all()
        assert paul.usage_credits_micros == 3_500_000
        assert paul.usage_subscription_micros == 5_000_000
    # bonus 2.00 + 1.00 = 3.00: the 2.50 takes bonus only (0.50 left); the 1.00 takes
    # 0.50 bonus then 0.50 top-up; the subscription-billed 5.00 touches no wallet
    assert [(e.bucket, e.amount_micros) for e in usage_entries] == [
        ("bonus", -2_500_000), ("bonus", -500_000), ("topup", -500_000)]
    assert (format_usd_micros(b.topup_micros), format_usd_micros(b.bonus_micros)) == (
        "$9.50", "$0.00")


# ------------------------------------------------------------- shipped scenarios


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=[p.name for p in SHIPPED_SCENARIOS])
def test_shipped_scenario_loads(database_url, path):
    data = json.loads(path.read_text(encoding="utf-8"))
    result = scenarios.load(path)
    assert result.name == path.stem
    assert result.accounts == len(data["accounts"])
    counts = table_counts(database_url)
    assert counts["account"] == len(data["accounts"])
    assert counts["refund"] == sum(len(a.get("refunds", [])) for a in data["accounts"])
    assert counts["usagerecord"] == sum(len(a.get("usage", [])) for a in data["accounts"])


def test_shipped_scenario_loads_by_name(database_url):
    result = scenarios.load("example")
    assert result.name == "example" and result.accounts == 8


def test_example_json_is_the_shared_example():
    if not SHARED_EXAMPLE.exists():
        pytest.skip("shared/example-scenario.json is not present")
    ours = json.loads(EXAMPLE_SCENARIO.read_text(encoding="utf-8"))
    shared = json.loads(SHARED_EXAMPLE.read_text(encoding="utf-8"))
    assert ours == shared


def _replace_beside_a_writer(url: str, *, waits_s: float, before_commit=None) -> None:
    """A writer inserts a refund's event (taking a share of the refund row) and keeps
    its transaction open; a replace starts in a thread and must still be waiting after
    ``waits_s``; the writer runs ``before_commit(writer)``, if any, and commits. The
    replace must then succeed and leave nothing of the writer's."""
    from tests.conftest import EXAMPLE_SCENARIO

    engine = sa.create_engine(url)
    try:
        with engine.connect() as writer:
            refund_id = writer.execute(sa.text("SELECT min(id) FROM refund")).scalar_one()
            writer.execute(sa.text(
                "INSERT INTO refundevent (refund_id, at, actor, action, detail) "
                "VALUES (:id, CURRENT_TIMESTAMP, 'system', 'inquired', 'the writer')"),
                {"id": refund_id})
            outcome: dict = {}

            def replace():
                try:
                    outcome["loaded"] = scenarios.load(EXAMPLE_SCENARIO, replace=True)
                except Exception as exc:  # noqa: BLE001 - the test reports it
                    outcome["error"] = exc

            loader = threading.Thread(target=replace)
            loader.start()
            loader.join(timeout=waits_s)
            assert loader.is_alive(), outcome  # it waits for the writer
            if before_commit is not None:
                before_commit(writer)
            writer.commit()
        loader.join(timeout=60)
        assert "error" not in outcome, outcome["error"]
        with engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT count(*) FROM refundevent WHERE detail = 'the writer'")).scalar_one() == 0
    finally:
        engine.dispose()


def test_a_replace_waits_for_a_writer_that_is_mid_transaction(example_db):
    """The demo's reset (a replace) while the background pass writes: a refund's event
    inserted but not yet committed when the replace starts. Found in CI's production
    lane: on PostgreSQL the replace deleted the events it could see, waited on the
    refund row the writer's insert had locked, and then failed on the event committed
    meanwhile (ForeignKeyViolation on refundevent_refund_id_fkey). The replace now
    takes every table first, so it waits for the writer and then removes its row too."""
    _replace_beside_a_writer(example_db, waits_s=1.5)


def test_a_replace_that_deadlocks_with_a_writer_takes_its_locks_again(example_db):
    """A writer holding a refund's event (so a share of the refund row) that then
    updates an account the replace has locked meanwhile: a deadlock, which PostgreSQL
    breaks by failing the replace (it waited first, so its check runs first). The
    replace takes its locks again once the writer is through, and succeeds."""
    def update_the_accounts(writer):
        writer.execute(sa.text("UPDATE account SET lock_version = lock_version + 1"))

    _replace_beside_a_writer(example_db, waits_s=0.5, before_commit=update_the_accounts)
