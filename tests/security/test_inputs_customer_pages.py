"""Findings 9.4 and 9.5 against the real server (demo mode, example scenario):

- the e-mail request form refused nothing odd: a purchase in year 1, digits from other
  scripts, an amount of 92 quadrillion dollars were all recorded;
- the refund preview of paul's TOP-3001 named the referrer ("Revokes Rita Referrer's
  pending $5.00 referral reward"): another customer's name sent to paul's browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_as
from tests.security.conftest import record_frames

SERVER_ENV = {"ZENMUX_DEMO": "1"}


def _requests(server) -> int:
    return server.rows("select count(*) from emailrequest")[0][0]


@pytest.mark.parametrize("field,value,named", [
    ("#req-purchase-at", "\uff12\uff10\uff12\uff16-11-26 10:00", "Purchase date and time"),
    ("#req-purchase-at", "0001-01-01 00:00", "Purchase date and time"),
    ("#req-amount", "92233720368547758.07", "Amount"),
    ("#req-balance", "$\uff11\uff17\uff19.\uff13\uff17", "Current unused credit balance"),
])
def test_request_form_refuses_odd_numbers_and_records_nothing(server, page: Page, field,
                                                              value, named):
    sign_in_as(page, "paul")
    page.goto("/request")
    expect(page.locator("#req-balance")).to_have_value("$179.37")
    before = _requests(server)
    page.locator("#req-purchase-at").fill("2026-11-26 10:00")  # TOP-3004, bank transfer
    page.locator("#req-amount").fill("10.00")
    page.locator("#req-reason").fill("Paid by bank transfer by mistake")
    page.locator(field).fill(value)
    page.locator("#req-submit").click()
    expect(page.locator("#req-error")).to_contain_text(named)
    expect(page.locator("#req-filed")).to_have_count(0)
    assert _requests(server) == before


def test_request_form_still_files_a_plain_request(server, page: Page):
    sign_in_as(page, "paul")
    page.goto("/request")
    expect(page.locator("#req-balance")).to_have_value("$179.37")
    before = _requests(server)
    page.locator("#req-purchase-at").fill("2026-11-26 10:00")
    page.locator("#req-amount").fill("10.00")
    page.locator("#req-reason").fill("Paid by bank transfer by mistake")
    page.locator("#req-submit").click()
    expect(page.locator("#req-filed")).to_contain_text("recorded")
    assert _requests(server) == before + 1


def test_top_up_preview_does_not_name_the_referrer(server, page: Page):
    # Demo mode's sign-in page lists every persona by name (and that list stays in the
    # client's state): judge only what opening the dialog sends.
    sign_in_as(page, "paul")
    frames = record_frames(page)
    page.goto("/credits")
    button = page.locator("#refund-TOP-3001")
    expect(button).to_be_enabled()
    page.wait_for_timeout(500)  # let the page's own load events settle before the mark
    frames.set_mark()
    button.click()
    forfeits = page.locator("#forfeits")
    expect(forfeits).to_contain_text("referral reward")  # the preview has arrived
    received = frames.since_mark()
    assert received, "no WebSocket frame was recorded for the dialog"
    for secret in ("Rita", "Referrer", "rita@example.com"):
        assert secret not in received, f"{secret!r} sent to paul's browser"
        assert secret not in page.inner_text("body"), f"{secret!r} shown on paul's page"
    expect(forfeits).to_contain_text(
        "Revokes a referral reward linked to this top-up ($5.00, pending)")
