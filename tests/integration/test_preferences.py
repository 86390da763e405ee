"""The customer's language (on the account) and time zone (on the session): stored
through services.preferences, refused when bad with nothing changed, read back as a
Locale (issue 12 item 3). On SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.integration._helpers import account
from zenmux_refunds import db
from zenmux_refunds.i18n import ENGLISH, Locale
from zenmux_refunds.models import Account, AuthSession
from zenmux_refunds.services import auth, preferences
from zenmux_refunds.services.preferences import PreferenceError

ALICE = ("alice@example.com", "alice-demo-pass")


def _alice_id() -> int:
    with db.reading() as s:
        return account(s, "alice").id


def _languages() -> dict[str, str]:
    with db.reading() as s:
        return dict(s.exec(select(Account.ref, Account.language)).all())


def _zones() -> list[str]:
    with db.reading() as s:
        return list(s.exec(select(AuthSession.time_zone).order_by(AuthSession.id)).all())


def test_accounts_and_sessions_start_in_english_and_utc(example_db):
    token = auth.sign_in(*ALICE)
    assert set(_languages().values()) == {"en"}
    assert _zones() == ["UTC"]
    assert preferences.locale_for(token) == ENGLISH


def test_the_database_defaults_hold_for_rows_written_without_them(example_db):
    """The migration's server defaults (a row written by anything but the models)."""
    with db.transaction() as s:
        s.execute(sa.text("INSERT INTO account (ref, email, name, password_hash, role, "
                          "demo_persona, usage_credits_micros, usage_subscription_micros, "
                          "lock_version, created_at) VALUES ('raw', 'raw@example.com', 'Raw', "
                          "'x', 'customer', false, 0, 0, 0, '2026-11-26 12:00:00')"))
    assert _languages()["raw"] == "en"


def test_the_language_is_remembered_for_the_account(example_db):
    token = auth.sign_in(*ALICE)
    assert preferences.set_language(_alice_id(), "zh-CN") == "zh-CN"
    assert _languages()["alice"] == "zh-CN"
    assert preferences.language_of(_alice_id()) == "zh-CN"
    # every session of the account follows, a new one too
    assert preferences.locale_for(token) == Locale("zh-CN", "UTC")
    assert preferences.locale_for(auth.sign_in(*ALICE)).lang == "zh-CN"
    preferences.set_language(_alice_id(), "en")
    assert preferences.locale_for(token) == ENGLISH


@pytest.mark.parametrize("lang", ["fr", "zh", "zh_CN", "", None, 3, "en' OR 1=1 --"])
def test_a_bad_language_is_refused_and_nothing_changes(example_db, lang):
    before = _languages()
    with pytest.raises(PreferenceError, match="not supported"):
        preferences.set_language(_alice_id(), lang)
    assert _languages() == before


@pytest.mark.parametrize("account_id", [0, 10**6, "1", None, True])
def test_an_unknown_account_is_refused(example_db, account_id):
    with pytest.raises(PreferenceError, match="no such account"):
        preferences.set_language(account_id, "zh-CN")


def test_the_time_zone_is_kept_on_the_session(example_db):
    token, other = auth.sign_in(*ALICE), auth.sign_in(*ALICE)
    assert preferences.set_time_zone(token, "Asia/Shanghai") == "Asia/Shanghai"
    assert preferences.locale_for(token) == Locale("en", "Asia/Shanghai")
    assert preferences.locale_for(other) == ENGLISH  # the other device keeps its own
    with db.reading() as s:
        session_id = s.exec(select(AuthSession.id).where(
            AuthSession.token_hash == auth.session_key(other))).one()
    preferences.set_time_zone(session_id, "America/New_York")
    assert preferences.locale_for(other).tz == "America/New_York"


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../../etc/passwd", "UTC+8", "utc",
                                "Asia/Shanghai ", "x" * 65, None])
def test_a_bad_time_zone_is_refused_and_nothing_changes(example_db, tz):
    token = auth.sign_in(*ALICE)
    with pytest.raises(PreferenceError, match="time zone"):
        preferences.set_time_zone(token, tz)
    assert _zones() == ["UTC"]


def test_a_dead_session_takes_no_time_zone(example_db):
    token = auth.sign_in(*ALICE)
    auth.sign_out(token)
    for session in (token, "not-a-token", "", 10**6, None):
        with pytest.raises(PreferenceError, match="no such session"):
            preferences.set_time_zone(session, "Asia/Shanghai")
    assert _zones() == ["UTC"]
    assert preferences.locale_for(token) == ENGLISH
    assert preferences.locale_for(None) == ENGLISH


def test_mails_follow_the_language_and_the_latest_sessions_zone(example_db):
    older, newer = auth.sign_in(*ALICE), auth.sign_in(*ALICE)
    preferences.set_time_zone(older, "Europe/Berlin")
    preferences.set_time_zone(newer, "Asia/Shanghai")
    preferences.set_language(_alice_id(), "zh-CN")
    with db.reading() as s:
        assert preferences.locale_of_account(s, account(s, "alice")) == Locale(
            "zh-CN", "Asia/Shanghai")
    auth.sign_out(newer)
    with db.reading() as s:
        assert preferences.locale_of_account(s, account(s, "alice")).tz == "Europe/Berlin"
        assert preferences.locale_of_account(s, account(s, "gary")) == ENGLISH
