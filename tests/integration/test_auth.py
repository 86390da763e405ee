"""Sign-in against the example's accounts: passwords, sessions, personas and roles."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.integration._helpers import example_data
from zenmux_refunds import config, db
from zenmux_refunds.clock import real_now
from zenmux_refunds.models import Account, AuthSession
from zenmux_refunds.services import auth
from zenmux_refunds.services.auth import SignInError

ALICE = ("alice@example.com", "alice-demo-pass")
SAM = ("sam@zenmux.example", "sam-demo-pass")


def test_sign_in_opens_a_session_for_alice(example_db):
    token = auth.sign_in(*ALICE)
    assert isinstance(token, str) and len(token) >= 32
    acct = auth.account_for_token(token)
    assert acct is not None
    assert (acct.ref, acct.email, acct.name, acct.role) == (
        "alice", "alice@example.com", "Alice Chen", "customer")


def test_the_session_account_is_the_row_as_the_orm_loads_it(example_db):
    """live_session builds the Account straight from the row's values (the guard reads
    it at every event): every column equal to an ORM read of the same row, detached
    with its identity, nothing marked changed, so merging it back writes nothing."""
    token = auth.sign_in(*SAM)
    found = auth.live_session(token)
    with db.reading() as s:
        loaded = s.exec(select(Account).where(Account.email == SAM[0])).one()
        expected = {c: getattr(loaded, c) for c in Account.__table__.c.keys()}
    account = found.account
    assert {c: getattr(account, c) for c in Account.__table__.c.keys()} == expected
    assert account.role == "support" and account.password_hash.startswith("$argon2")
    state = sa.inspect(account)
    assert state.detached and state.identity == (expected["id"],)
    assert not state.modified and state.committed_state == {}
    with db.transaction() as s:
        merged = s.merge(account, load=False)
        assert merged.email == SAM[0] and not s.dirty


def test_the_session_read_can_be_a_fresh_processs_first_use_of_the_orm(example_db):
    """A server worker's first event may be its first use of the ORM (seen in the
    production shape: three workers, each its own process). The guard's read builds
    its Account without the model's constructor, which would have configured the
    mappers: it must configure them itself, in a process that has done nothing else."""
    token = auth.sign_in(*ALICE)
    code = ("import sys\n"
            "from zenmux_refunds.services import auth\n"
            "print(auth.live_session(sys.argv[1]).account.email)\n")
    done = subprocess.run([sys.executable, "-c", code, token], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ALICE[0]


def test_two_sign_ins_give_two_tokens(example_db):
    first, second = auth.sign_in(*ALICE), auth.sign_in(*ALICE)
    assert first != second
    auth.sign_out(first)
    assert auth.account_for_token(first) is None
    assert auth.account_for_token(second).ref == "alice"


def test_wrong_password_and_unknown_email_say_the_same(example_db):
    with pytest.raises(SignInError) as wrong_password:
        auth.sign_in("alice@example.com", "bob-demo-pass")
    with pytest.raises(SignInError) as unknown_email:
        auth.sign_in("nobody@example.com", "alice-demo-pass")
    assert str(wrong_password.value) == str(unknown_email.value)
    assert "password" in str(wrong_password.value).lower()
    with db.reading() as session:
        assert session.exec(select(AuthSession)).all() == []


def test_another_accounts_password_does_not_work(example_db):
    with pytest.raises(SignInError):
        auth.sign_in("alice@example.com", "paul-demo-pass")


def test_email_is_case_insensitive(example_db):
    token = auth.sign_in("  Alice@Example.COM ", "alice-demo-pass")
    assert auth.account_for_token(token).ref == "alice"


def test_password_is_case_sensitive(example_db):
    with pytest.raises(SignInError):
        auth.sign_in("alice@example.com", "ALICE-DEMO-PASS")


def test_sign_out_revokes_the_token(example_db):
    token = auth.sign_in(*ALICE)
    auth.sign_out(token)
    assert auth.account_for_token(token) is None
    with db.reading() as session:
        row = session.exec(select(AuthSession)).one()
    assert row.revoked is True


def test_expired_session_resolves_to_nobody(example_db):
    token = auth.sign_in(*ALICE)
    assert auth.account_for_token(token) is not None
    with db.transaction() as session:
        row = session.exec(select(AuthSession)).one()
        row.expires_at = real_now() - timedelta(minutes=1)
        session.add(row)
    assert auth.account_for_token(token) is None


def test_session_lasts_the_configured_hours(example_db):
    before = real_now()
    auth.sign_in(*ALICE)
    with db.reading() as session:
        row = session.exec(select(AuthSession)).one()
    # default ZENMUX_SESSION_HOURS is 12 (config.py's documented default)
    assert before + timedelta(hours=12) <= row.expires_at <= real_now() + timedelta(hours=12)


@pytest.mark.parametrize("token", ["", None, "forged-token", "A" * 43])
def test_forged_or_empty_token_resolves_to_nobody(example_db, token):
    auth.sign_in(*ALICE)  # a real session exists, the forged token must not match it
    assert auth.account_for_token(token) is None


def test_stored_hash_of_a_token_is_not_a_token(example_db):
    token = auth.sign_in(*ALICE)
    with db.reading() as session:
        row = session.exec(select(AuthSession)).one()
    assert row.token_hash != token
    assert auth.account_for_token(row.token_hash) is None
    assert auth.account_for_token(token).ref == "alice"


def test_persona_sign_in_works_in_demo_mode_for_scenario_personas_only(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_DEMO", "1")
    config.settings.cache_clear()
    token = auth.sign_in_persona("paul")
    assert auth.account_for_token(token).ref == "paul"
    with pytest.raises(SignInError):
        auth.sign_in_persona("nobody")
    # an account the scenario did not mark as a persona is never one-click
    with db.transaction() as session:
        paul = session.exec(select(Account).where(Account.ref == "paul")).one()
        paul.demo_persona = False
        session.add(paul)
    with pytest.raises(SignInError, match="No such demo persona"):
        auth.sign_in_persona("paul")
    assert "paul" not in [a.ref for a in auth.demo_personas()]
    config.settings.cache_clear()


def test_demo_mode_is_off_by_default(example_db, monkeypatch):
    monkeypatch.delenv("ZENMUX_DEMO", raising=False)
    config.settings.cache_clear()
    assert config.settings().demo_mode is False
    assert auth.demo_personas() == []
    with pytest.raises(SignInError, match="only available in demo mode"):
        auth.sign_in_persona("paul")


def test_persona_sign_in_is_refused_outside_demo_mode(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_DEMO", "0")
    config.settings.cache_clear()
    try:  # noqa: SIM105
        with pytest.raises(SignInError):
            auth.sign_in_persona("paul")
        with db.reading() as session:
            assert session.exec(select(AuthSession)).all() == []
        # the password still works
        assert auth.account_for_token(auth.sign_in(*ALICE)).ref == "alice"
    finally:
        monkeypatch.delenv("ZENMUX_DEMO")
        config.settings.cache_clear()


def test_require_role(example_db):
    alice_token = auth.sign_in(*ALICE)
    sam_token = auth.sign_in(*SAM)
    with pytest.raises(PermissionError):
        auth.require_role(alice_token, "support")
    with pytest.raises(PermissionError):
        auth.require_role("forged-token", "support")
    with pytest.raises(PermissionError):
        auth.require_role(None, "customer")
    sam = auth.require_role(sam_token, "support")
    assert (sam.ref, sam.role) == ("sam", "support")
    assert auth.require_role(alice_token, "customer").ref == "alice"
    auth.sign_out(sam_token)
    with pytest.raises(PermissionError):
        auth.require_role(sam_token, "support")


def test_database_stores_no_plaintext_token_or_password(example_db):
    token = auth.sign_in(*ALICE)
    passwords = {a["email"]: a["password"] for a in example_data()["accounts"]}
    with db.reading() as session:
        row = session.exec(select(AuthSession)).one()
        accounts = session.exec(select(Account)).all()
    assert row.token_hash != token
    assert token not in row.token_hash
    assert len(accounts) == len(passwords)
    for acct in accounts:
        plain = passwords[acct.email]
        assert plain not in acct.password_hash
        assert acct.password_hash.startswith("$argon2")
        assert auth.verify_password(acct.password_hash, plain)
