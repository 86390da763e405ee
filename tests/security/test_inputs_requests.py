"""Finding 9.4 (service level): an e-mail request's numeric fields are ASCII digits,
its purchase time is plausible, its amount and free texts are bounded. Each refusal is a
RequestError naming the field, and nothing is recorded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zenmux_refunds import db
from zenmux_refunds.services import requests

GOOD = dict(contact="paul@example.com", purchase_at="2026-11-26 10:00", amount="10.00",
            unused_balance="$179.37", reason="Paid by bank transfer by mistake")
WHEN, AMOUNT, BALANCE = "Purchase date and time", "Amount", "Current unused credit balance"


def _paul() -> int:
    with db.reading() as s:
        return s.execute(sa.text("select id from account where ref = 'paul'")).scalar_one()


def _count() -> int:
    with db.reading() as s:
        return s.execute(sa.text("select count(*) from emailrequest")).scalar_one()


@pytest.mark.parametrize("changes,field", [
    (dict(purchase_at="\uff12\uff10\uff12\uff16-11-26 10:00"), WHEN),   # full-width year
    (dict(purchase_at="2026-11-26 \u0661\u0660:00"), WHEN),               # Arabic-Indic hour
    (dict(purchase_at="2026-\u0967\u0967-26 10:00"), WHEN),               # Devanagari month
    (dict(purchase_at="0001-01-01 00:00"), WHEN),
    (dict(purchase_at="2019-12-31 23:59"), WHEN),
    (dict(purchase_at="9999-12-31 23:59"), WHEN),
    (dict(purchase_at="2026-11-26 10:00\n"), WHEN),
    (dict(amount="\uff11\uff10.\uff10\uff10"), AMOUNT),                   # full-width 10.00
    (dict(amount="92233720368547758.07"), AMOUNT),
    (dict(amount="92,233,720,368,547,758.07"), AMOUNT),
    (dict(amount="100000.01"), AMOUNT),
    (dict(amount="1" * 5000), AMOUNT),
    (dict(unused_balance="$\uff11\uff17\uff19.\uff13\uff17"), BALANCE),   # full-width digits
    (dict(unused_balance="$\u0661\u0667\u0669.37"), BALANCE),
    (dict(unused_balance="lots"), BALANCE),
    (dict(unused_balance="$92233720368547758.07"), BALANCE),
    (dict(unused_balance="-$5.00"), BALANCE),
    (dict(unused_balance="$1.005"), BALANCE),
    (dict(contact="paul@example.com" + " " * 300 + "x"), "Account email / ID"),
    (dict(contact="x" * 255), "Account email / ID"),
    (dict(reason="r" * 2001), "Reason"),
])
def test_bad_input_is_refused_by_field_and_nothing_is_recorded(example_db, changes, field):
    before = _count()
    with pytest.raises(requests.RequestError) as err:
        requests.file_request(_paul(), **{**GOOD, **changes})
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")
    assert _count() == before


@pytest.mark.parametrize("changes", [
    {}, dict(amount="$10.00"), dict(unused_balance=""), dict(unused_balance="179.37"),
    dict(unused_balance="$1,179.37"), dict(purchase_at="2020-01-01 00:00"),
    dict(amount="100,000.00"), dict(unused_balance="$0.00"),
])
def test_plain_requests_are_still_filed(example_db, changes):
    before = _count()
    requests.file_request(_paul(), **{**GOOD, **changes})
    assert _count() == before + 1
