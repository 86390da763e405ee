"""The app clock: frozen by ZENMUX_NOW, anchored at a loaded scenario's now, moved by the
demo's controls; and the demo's reset."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from tests.integration._helpers import EXAMPLE_SCENARIO, account, example_data, table_counts
from zenmux_refunds import clock, config, db
from zenmux_refunds.models import ClockSetting, Refund, TopupOrder
from zenmux_refunds.services import demo, scenarios

SCENARIO_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _now() -> datetime:
    with db.reading() as session:
        return clock.now(session)


def test_frozen_clock_is_zenmux_now(example_db, frozen_now):
    assert frozen_now == SCENARIO_NOW
    assert _now() == SCENARIO_NOW
    time.sleep(0.02)
    assert _now() == SCENARIO_NOW  # frozen: it does not run
    assert demo.current_time() == SCENARIO_NOW


def test_frozen_clock_without_any_scenario(database_url, frozen_now):
    from zenmux_refunds import db as db_module

    db_module.upgrade()
    assert _now() == SCENARIO_NOW


def test_advance_and_reset_the_clock(example_db):
    moved = demo.advance_clock(timedelta(hours=2))
    assert moved == datetime(2026, 11, 26, 14, 0, tzinfo=timezone.utc)
    assert _now() == moved
    demo.advance_clock(demo.parse_duration("90m"))
    assert _now() == datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)
    demo.reset_clock_offset()
    assert _now() == SCENARIO_NOW


def test_advanced_clock_changes_quotes(example_db):
    """Moving 8h forward closes TOP-3001's window (it ends 2026-11-26 20:00)."""
    from zenmux_refunds.services import quotes

    def reason():
        with db.reading() as session:
            paul = account(session, "paul")
            kind, order_id = quotes.order_id_by_ref(session, paul, "TOP-3001")
            q = quotes.quote_order(session, paul, kind, order_id, clock.now(session))
        return q.decision.reason

    assert reason() is None
    demo.advance_clock(timedelta(hours=7, minutes=59))
    assert reason() is None
    demo.advance_clock(timedelta(minutes=1))
    assert str(reason()) == "Refund window expired"


def test_clock_cannot_go_back(example_db):
    with pytest.raises(demo.DemoError):
        demo.advance_clock(timedelta(minutes=-1))
    assert _now() == SCENARIO_NOW


def test_unfrozen_clock_starts_at_the_scenario_now_and_runs(database_url, monkeypatch):
    monkeypatch.delenv("ZENMUX_NOW", raising=False)
    monkeypatch.delenv("ZENMUX_CLOCK", raising=False)
    config.settings.cache_clear()
    scenarios.load(EXAMPLE_SCENARIO)
    first = _now()
    assert SCENARIO_NOW <= first < SCENARIO_NOW + timedelta(seconds=5)
    time.sleep(0.05)
    second = _now()
    assert second > first
    assert second < SCENARIO_NOW + timedelta(seconds=5)
    # an hour of real time later, the app clock is an hour further
    with db.reading() as session:
        setting = session.get(ClockSetting, 1)
    later = clock.compute_now(setting, real=setting.anchored_real_at + timedelta(hours=1))
    assert later == SCENARIO_NOW + timedelta(hours=1)
    # the demo offset adds on top of the running clock
    demo.advance_clock(timedelta(days=1))
    third = _now()
    assert SCENARIO_NOW + timedelta(days=1) <= third < SCENARIO_NOW + timedelta(days=1, seconds=5)


@pytest.mark.parametrize("text,expected", [
    ("90m", timedelta(minutes=90)),
    ("6h", timedelta(hours=6)),
    ("2d", timedelta(days=2)),
    ("60d", timedelta(days=60)),
    ("1m", timedelta(minutes=1)),
])
def test_parse_duration_accepts(text, expected):
    assert demo.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["-1h", "abc", "61d", "", "1.5h", "6 hours", "1w", None,
                                  "0m", "\u0661d"])
def test_parse_duration_refuses(text):
    with pytest.raises(demo.DemoError):
        demo.parse_duration(text)


def test_reset_demo_reloads_the_last_scenario(example_db):
    expected_refunds = sum(len(a.get("refunds", [])) for a in example_data()["accounts"])
    single = table_counts(example_db)
    assert single["refund"] == expected_refunds == 3
    with db.transaction() as session:
        template = session.exec(select(Refund).where(Refund.ref == "RF-6002")).one()
        order = session.exec(select(TopupOrder).where(TopupOrder.ref == "TOP-6002")).one()
        fields = template.model_dump(exclude={"id"})
        fields.update(ref="RF-HAND", idempotency_key="hand-made", topup_order_id=order.id,
                      status="canceled", open_key=None)
        session.add(Refund(**fields))
    demo.advance_clock(timedelta(hours=3))
    assert table_counts(example_db)["refund"] == 4

    result = scenarios.reset_demo()
    assert result.name == "example"
    assert result.refunds == 3
    assert table_counts(example_db) == single
    with db.reading() as session:
        assert session.exec(select(Refund).where(Refund.ref == "RF-HAND")).first() is None
    assert _now() == SCENARIO_NOW  # the offset went with the reset


def test_reset_demo_without_a_scenario_is_refused(database_url):
    from zenmux_refunds import db as db_module

    db_module.upgrade()
    with pytest.raises(scenarios.ScenarioError):
        scenarios.reset_demo()
