"""Finding 9.2: the copy of the scenario kept for the demo's Reset held every account's
plaintext password. After a load (and after a reset) no password from the file may be
found anywhere in the database: not in any text column of any table, not in the file."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import zenmux_refunds.models  # noqa: F401 (registers the tables)
from tests.conftest import PROJECT_ROOT
from zenmux_refunds import db
from zenmux_refunds.services import auth, scenarios

SHIPPED = ["example", "demo"]


def _data(name: str) -> dict:
    return json.loads((PROJECT_ROOT / "scenarios" / f"{name}.json").read_text())


def _passwords(data: dict) -> list[str]:
    return [a["password"] for a in data["accounts"] if "password" in a]


def _all_text(url: str) -> str:
    """Every value of every column of every table, as text."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out = []
    try:
        with engine.connect() as conn:
            for table in SQLModel.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)).all():
                    out.extend(str(v) for v in row)
    finally:
        engine.dispose()
    return "\n".join(out)


def _file_bytes(url: str) -> bytes:
    if not url.startswith("sqlite:///"):
        return b""
    db.dispose_all()
    path = url.removeprefix("sqlite:///")
    blob = b""
    for suffix in ("", "-wal", "-journal"):
        try:
            with open(path + suffix, "rb") as fh:
                blob += fh.read()
        except FileNotFoundError:
            pass
    return blob


def _assert_no_plaintext(url: str, passwords: list[str]) -> None:
    text, raw = _all_text(url), _file_bytes(url)
    for pw in passwords:
        assert pw not in text, f"plaintext password {pw!r} stored in the database"
        assert pw.encode() not in raw, f"plaintext password {pw!r} in the database file"


@pytest.mark.parametrize("name", SHIPPED)
def test_no_plaintext_password_after_loading_a_shipped_scenario(database_url, name):
    data = _data(name)
    scenarios.load(name)
    _assert_no_plaintext(database_url, _passwords(data))


@pytest.mark.parametrize("name", SHIPPED)
def test_reset_keeps_passwords_out_and_they_still_sign_in(database_url, name):
    data = _data(name)
    scenarios.load(name)
    scenarios.reset_demo()
    scenarios.reset_demo()  # a reset of a reset reads back its own stored copy
    _assert_no_plaintext(database_url, _passwords(data))
    for account in data["accounts"]:
        assert auth.sign_in(account["email"], account["password"])
    with pytest.raises(auth.SignInError):
        auth.sign_in(data["accounts"][0]["email"], "wrong-password")


def test_the_stored_copy_carries_argon2_hashes(database_url):
    scenarios.load("example")
    [(stored,)] = db.engine().connect().execute(
        sa.text("select scenario_json from clocksetting")).all()
    for account in json.loads(stored)["accounts"]:
        assert "password" not in account
        assert account["password_hash"].startswith("$argon2")


def _one_account(**fields) -> dict:
    data = copy.deepcopy(_data("example"))
    data["accounts"] = [dict({k: v for k, v in data["accounts"][0].items()
                              if k not in ("password",)}, **fields)]
    return data


def test_a_scenario_may_give_an_argon2_hash_instead_of_a_password(database_url):
    data = _one_account(password_hash=auth.hash_password("s3cret-from-a-hash"))
    scenarios.load(data)
    assert auth.sign_in(data["accounts"][0]["email"], "s3cret-from-a-hash")
    _assert_no_plaintext(database_url, ["s3cret-from-a-hash"])


@pytest.mark.parametrize("fields,field,problem", [
    (dict(password_hash="not-a-hash"), "accounts[0].password_hash", "argon2"),
    (dict(password_hash="$2b$12$abcdefghijklmnopqrstuv"), "accounts[0].password_hash", "argon2"),
    (dict(password_hash="$argon2id$v=19$garbage"), "accounts[0].password_hash", "argon2"),
    (dict(password_hash=42), "accounts[0].password_hash", "string"),
    (dict(password="x", password_hash=auth.hash_password("x")), "accounts[0].password_hash",
     "not both"),
    ({}, "accounts[0].password", "required"),
])
def test_a_bad_password_hash_is_refused_by_field(database_url, fields, field, problem):
    with pytest.raises(scenarios.ScenarioError) as err:
        scenarios.load(_one_account(**fields))
    assert err.value.field == field
    assert problem in err.value.problem
