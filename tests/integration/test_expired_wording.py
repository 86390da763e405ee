"""Long histories do not repeat "Refund window expired" on every row (issue 11 item 10):
on each page of a billing list, the newest row whose window expired keeps the policy's
words and every older expired row carries the muted tag "Expired" instead; the Refund
buttons and their reasons are exactly as before. Against the demo scenario (tom's
four-month top-up history) and the example's published rows, on a real database."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration._helpers import account_by_ref
from zenmux_refunds.services import billing, credits, scenarios

EXPIRED = "Refund window expired"


@pytest.fixture
def demo_db(database_url, frozen_now):
    scenarios.load(PROJECT_ROOT / "scenarios" / "demo.json")
    return database_url


def _orders(rows):
    return [r for r in rows if getattr(r, "is_order", True)]


def test_one_expired_row_per_page_says_it_the_older_ones_are_tagged(demo_db):
    tom = account_by_ref("tom").id
    first, second = (credits.transactions(tom, n, 20) for n in (1, 2))
    for result in (first, second):
        expired = [r for r in _orders(result.rows) if r.reason == EXPIRED]
        assert len(expired) >= 2, [r.ref for r in result.rows]  # a long history indeed
        # the newest expired row of the page says it; every older one is tagged
        assert expired[0].reason_tag == ""
        assert [r.reason_tag for r in expired[1:]] == ["Expired"] * (len(expired) - 1)
        # the button is disabled for the same reason as before, on every row
        assert not any(r.can_refund for r in expired)
        # rows with any other reason, or none, are untouched
        assert all(r.reason_tag == "" for r in result.rows if r.reason != EXPIRED)
    assert _orders(first.rows)[0].ref == "TOP-8100" and _orders(first.rows)[0].can_refund
    assert [r.ref for r in _orders(first.rows) if r.reason == EXPIRED][0] == "TOP-8034"


def test_subscriptions_follow_the_same_rule(demo_db):
    mia = account_by_ref("mia").id
    rows = billing.subscription_history(mia, 1, 10).rows
    expired = [r for r in rows if r.reason == EXPIRED]
    assert [r.reason_tag for r in expired] == [""] + ["Expired"] * (len(expired) - 1)


def test_the_examples_rows_keep_their_words(example_db):
    """example-expectations.md: SUB-1001 and TOP-3003 read "Refund window expired"."""
    alice = {r.ref: r for r in billing.subscription_history(account_by_ref("alice").id).rows}
    assert (alice["SUB-1001"].reason, alice["SUB-1001"].reason_tag) == (EXPIRED, "")
    assert not alice["SUB-1001"].can_refund
    paul = {r.ref: r for r in credits.transactions(account_by_ref("paul").id).rows}
    assert (paul["TOP-3003"].reason, paul["TOP-3003"].reason_tag) == (EXPIRED, "")
    assert not paul["TOP-3003"].can_refund
    assert all(r.reason_tag == "" for r in paul.values())
