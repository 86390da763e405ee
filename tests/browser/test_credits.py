"""Credits Management and per-order Pay-As-You-Go refunds, as customers use them
(example scenario, clock frozen at 2026-11-26 12:00 UTC; Sandbox settles after 5 s)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as


def _credits(page: Page, persona: str) -> None:
    sign_in_as(page, persona)
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator(".tx-order").first).to_be_visible()


def _balances(page: Page, total: str, topup: str, bonus: str) -> None:
    expect(page.locator("#balance-total")).to_have_text(total)
    expect(page.locator("#balance-topup")).to_have_text(topup)
    expect(page.locator("#balance-bonus")).to_have_text(bonus)


def _line(page: Page, label: str):
    return page.locator("#refund-dialog div", has=page.get_by_text(label, exact=True)).last


def _disabled_with(page: Page, ref: str, reason: str) -> None:
    expect(page.locator(f"#refund-{ref}")).to_be_disabled()
    expect(page.locator(f"#reason-{ref}")).to_have_text(reason)


def test_paul_rows_and_previews_match_the_expectations(page: Page):
    _credits(page, "paul")
    _balances(page, "$179.37", "$179.37", "$0.00")
    _disabled_with(page, "TOP-3003", "Refund window expired")
    _disabled_with(page, "TOP-3004", "Not refundable online — request by email")
    expect(page.locator("tr", has=page.locator("#refund-TOP-3004")).get_by_role(
        "link", name="Request by email")).to_be_visible()
    _disabled_with(page, "TOP-3005", "Order not completed")
    shot(page, "credits-paul")

    page.locator("#refund-TOP-3001").click()
    for label, value in [("Order amount", "$50.00"), ("Payment time", "2026-11-25 20:00"),
                         ("Usage since payment", "$7.13"), ("Already refunded", "$0.00"),
                         ("Platform fee (5%)", "$2.15")]:
        expect(_line(page, label)).to_contain_text(value)
    expect(page.locator("#final-amount")).to_have_text("$40.72")
    expect(page.locator("#refund-window")).to_have_text("Refund window remaining 8h 0m")
    expect(page.locator("#forfeits")).to_contain_text(
        "The $2.50 Discount bonus of this top-up is already spent: nothing to forfeit")
    expect(page.locator("#forfeits")).to_contain_text(
        "Revokes a referral reward linked to this top-up ($5.00, pending)")
    shot(page, "credits-preview-paul-TOP-3001")
    page.get_by_role("button", name="Cancel").click()

    page.locator("#refund-TOP-3002").click()
    expect(_line(page, "Usage since payment")).to_contain_text("$1.01")
    expect(_line(page, "Platform fee (5%)")).to_contain_text("$4.95")
    expect(page.locator("#final-amount")).to_have_text("$94.04")
    expect(page.locator("#final-in-currency")).to_have_text("returned as CNY 677.08")
    expect(page.locator("#refund-window")).to_have_text("Refund window remaining 21h 15m")
    shot(page, "credits-preview-paul-TOP-3002-cny")


def test_rita_ivan_fiona_rows_match_the_expectations(page: Page):
    _credits(page, "rita")
    _balances(page, "$5.00", "$0.00", "$5.00")
    _disabled_with(page, "TOP-4001", "Refund in progress")
    expect(page.locator("#tag-TOP-4001")).to_have_text("Refunding")
    expect(page.locator("#referral-rewards")).to_contain_text("$5.00")
    expect(page.locator("#referral-rewards")).to_contain_text("Pending")
    expect(page.locator("#referral-rewards")).to_contain_text("Paul Payg")
    shot(page, "credits-rita")

    page.locator("#sign-out").click()
    _credits(page, "ivan")
    _balances(page, "$10.00", "$10.00", "$0.00")
    _disabled_with(page, "TOP-5001", "Insufficient balance")

    page.locator("#sign-out").click()
    _credits(page, "fiona")
    _balances(page, "$15.00", "$15.00", "$0.00")
    _disabled_with(page, "TOP-6001", "Fully refunded")
    expect(page.locator("#tag-TOP-6001")).to_have_text("Refunded")
    expect(page.locator("#tag-TOP-6002")).to_have_text("Refund failed")
    expect(page.locator("#refund-TOP-6002")).to_be_enabled()
    shot(page, "credits-fiona")


def test_paul_refunds_top_3001_and_rita_sees_the_reward_revoked(page: Page):
    _credits(page, "paul")
    page.locator("#refund-TOP-3001").click()
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-text")).to_contain_text("$40.72")
    expect(page.locator("#confirm-text")).to_contain_text("your card (Stripe)")
    shot(page, "credits-confirm-paul")
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    # the wallet is debited at approval, visible behind the dialog
    expect(page.locator("#balance-topup")).to_have_text("$136.50")
    shot(page, "credits-status-refunding")
    expect(page.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
    shot(page, "credits-status-refunded")
    page.locator("#close-dialog").click()
    expect(page.locator("#tag-TOP-3001")).to_have_text("Refunded")
    _balances(page, "$136.50", "$136.50", "$0.00")
    # TOP-3002's quote is unchanged
    page.locator("#refund-TOP-3002").click()
    expect(page.locator("#final-amount")).to_have_text("$94.04")
    page.get_by_role("button", name="Cancel").click()

    page.locator("#sign-out").click()
    _credits(page, "rita")
    expect(page.locator("#referral-rewards")).to_contain_text("Revoked")
    shot(page, "credits-rita-reward-revoked")


def test_fiona_refund_fails_again_and_the_wallet_is_recredited(page: Page):
    _credits(page, "fiona")
    page.locator("#refund-TOP-6002").click()
    # its earlier refund failed: that is said first, then a new preview on request
    expect(page.locator("#last-refund-failed")).to_contain_text("RF-6002")
    page.locator("#continue-to-preview").click()
    expect(page.locator("#final-amount")).to_have_text("$14.25")
    expect(_line(page, "Platform fee (5%)")).to_contain_text("$0.75")
    page.locator("#submit-refund").click()
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    expect(page.locator("#balance-topup")).to_have_text("$0.00")
    expect(page.locator("#refund-status")).to_have_text("Failed", timeout=30_000)
    expect(page.locator("#status-description")).to_contain_text("please contact support")
    shot(page, "credits-status-failed-fiona")
    page.locator("#close-dialog").click()
    _balances(page, "$15.00", "$15.00", "$0.00")


def test_referral_reward_is_granted_when_the_window_closes_without_a_click(page: Page,
                                                                          app_server):
    _credits(page, "rita")
    expect(page.locator("#referral-rewards")).to_contain_text("Pending")
    # TOP-3001 was paid 2026-11-25 20:00: its window closes 8 hours after the clock.
    # Only support moves the shared demo clock: sam does, in a browser of his own.
    expect(page.get_by_role("button", name="+1 day")).to_have_count(0)
    support = page.context.browser.new_context(base_url=app_server.base_url)
    sam = support.new_page()
    sign_in_as(sam, "sam")
    sam.get_by_role("button", name="+1 day").click()
    expect(sam.locator("#demo-clock")).to_contain_text("2026-11-27 12:00 UTC")
    support.close()
    # rita's page is not reloaded: the background pass (every second) grants the reward,
    # and the page, which shows a Pending reward, re-reads its data every few seconds
    expect(page.locator("#page-refresh-poll")).to_be_attached()
    expect(page.locator("#referral-rewards")).to_contain_text("Granted", timeout=30_000)
    _balances(page, "$10.00", "$0.00", "$10.00")
    shot(page, "credits-rita-reward-granted")
