"""Finding 9.3 (data half): which accounts are demo personas is stored with the account.

A scenario account may say ``"demo_persona": false`` (a ZenMux extension; default true,
a scenario is demo data). Accounts created any other way, or present before the
migration, are never personas (server default false)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import PROJECT_ROOT
from zenmux_refunds import db
from zenmux_refunds.services import scenarios

INITIAL = "0bb40ea69650"


def _example() -> dict:
    return json.loads((PROJECT_ROOT / "scenarios" / "example.json").read_text())


def _personas(url: str) -> dict[str, bool]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {ref: bool(flag) for ref, flag in conn.execute(
                sa.text("select ref, demo_persona from account")).all()}
    finally:
        engine.dispose()


def test_scenario_accounts_are_personas_unless_marked_otherwise(database_url):
    data = _example()
    data["accounts"][0]["demo_persona"] = False
    data["accounts"][1]["demo_persona"] = True
    scenarios.load(data)
    flags = _personas(database_url)
    assert flags.pop(data["accounts"][0]["ref"]) is False
    assert all(flags.values()) and len(flags) == len(data["accounts"]) - 1


def test_the_flag_survives_a_reset(database_url):
    data = _example()
    data["accounts"][2]["demo_persona"] = False
    scenarios.load(data)
    scenarios.reset_demo()
    assert _personas(database_url)[data["accounts"][2]["ref"]] is False


@pytest.mark.parametrize("value", ["yes", 1, 0, "false", []])
def test_a_non_boolean_flag_is_refused_by_field(database_url, value):
    data = _example()
    data["accounts"][3]["demo_persona"] = value
    with pytest.raises(scenarios.ScenarioError) as err:
        scenarios.load(data)
    assert err.value.field == "accounts[3].demo_persona"
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:  # refused before the schema was even touched
        assert not sa.inspect(conn).has_table("account") or \
            conn.execute(sa.text("select count(*) from account")).scalar() == 0
    engine.dispose()


def _insert_account(conn, ref: str) -> None:
    conn.execute(sa.text(
        "insert into account (ref, email, name, password_hash, role, usage_credits_micros, "
        "usage_subscription_micros, lock_version, created_at) values "
        "(:ref, :email, 'X', 'h', 'customer', 0, 0, 0, :at)"),
        dict(ref=ref, email=f"{ref}@example.com", at=datetime.now(timezone.utc)))


def test_an_account_created_outside_a_scenario_is_not_a_persona(database_url):
    db.upgrade(database_url)
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _insert_account(conn, "outsider")
    engine.dispose()
    assert _personas(database_url) == {"outsider": False}


def test_accounts_present_before_the_migration_are_not_personas(database_url):
    command.upgrade(db.alembic_config(database_url), INITIAL)
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _insert_account(conn, "veteran")
    engine.dispose()
    db.upgrade(database_url)
    assert _personas(database_url) == {"veteran": False}
    command.downgrade(db.alembic_config(database_url), INITIAL)
    db.upgrade(database_url)
    assert _personas(database_url) == {"veteran": False}
