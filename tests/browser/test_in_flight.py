"""In-flight usage end to end: the preview shows one amount, the gateway bills a call
through the usage feed, the confirmation settles at the new amount and says so."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as


def test_a_call_billed_after_the_preview_changes_the_settled_amount(page: Page, app_server):
    sign_in_as(page, "alice")
    page.locator("#refund-SUB-1002").click()
    expect(page.locator("#final-amount")).to_have_text("$15.71")
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-text")).to_contain_text("$15.71")

    answer = app_server.report_usage(call_id="in-flight-1", account="alice", amount="1.00",
                                      billed_to="subscription", at="2026-11-26T11:59:30Z")
    assert answer == {"recorded": True, "duplicate": False, "call_id": "in-flight-1"}

    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    # usage $3.456789 + $1.00 -> $4.46; refundable $15.54; final floor(1554 * 0.95) = $14.76
    changed = page.locator("#settled-changed")
    expect(changed).to_contain_text("the preview showed $15.71")
    expect(changed).to_contain_text("the settled amount is $14.76")
    shot(page, "in-flight-settled-amount-changed")


def test_the_demo_control_simulates_a_billed_call(page: Page):
    sign_in_as(page, "paul")
    page.get_by_role("link", name="Credits").click()
    expect(page.locator("#balance-topup")).to_have_text("$179.37")
    page.locator("#sim-amount").fill("2.50")
    page.locator("#simulate-call").click()
    expect(page.get_by_text("API call billed")).to_be_visible()
    page.reload()
    # 179.376543 - 2.50 = 176.876543, shown rounded down
    expect(page.locator("#balance-topup")).to_have_text("$176.87")
    page.locator("#refund-TOP-3002").click()
    # usage since TOP-3002: 1.000001 + 2.50 = 3.500001 -> $3.51
    expect(page.locator("#refund-dialog")).to_contain_text("$3.51")
