"""The refund dialog says what will happen, exactly, before it happens (issue 11: the
preview lines of item 2, item 3, and the failed-first view of item 4), as a customer
reads it in Chromium (example scenario, clock frozen at 2026-11-26 12:00 UTC).

Expected strings are written out from example-expectations.md and worked by hand.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as

PHONE = {"width": 390, "height": 844}


def _credits(page: Page, persona: str) -> None:
    sign_in_as(page, persona)
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator(".tx-order").first).to_be_visible()


def _line(page: Page, label: str):
    return page.locator("#refund-dialog div", has=page.get_by_text(label, exact=True)).last


def _fits(page: Page) -> None:
    """The dialog stays inside the viewport and nothing in it scrolls sideways."""
    width = page.viewport_size["width"]
    box = page.locator("#refund-dialog").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    overflow = page.locator("#refund-dialog").evaluate(
        "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"the dialog scrolls sideways by {overflow}px"


def test_top_up_preview_is_exact(page: Page):
    _credits(page, "paul")
    page.locator("#refund-TOP-3001").click()
    for label, value in [("Order amount", "$50.00"),
                         ("Payment time", "2026-11-25 20:00 UTC"),
                         ("Usage since payment", "$7.13"), ("Already refunded", "$0.00"),
                         ("Refundable balance", "$42.87"), ("Platform fee (5%)", "$2.15")]:
        expect(_line(page, label)).to_contain_text(value)
    expect(page.locator("#final-amount")).to_have_text("$40.72")
    expect(page.locator("#refund-window")).to_have_text("Refund window remaining 8h 0m")
    forfeits = page.locator("#forfeits")
    expect(forfeits).to_contain_text(
        "The $2.50 Discount bonus of this top-up is already spent: nothing to forfeit")
    expect(forfeits).to_contain_text(
        "Revokes a referral reward linked to this top-up ($5.00, pending)")
    expect(page.locator("#refund-effects")).to_have_text(
        "• $42.87 of top-up credits leave your wallet immediately")
    # a USD order has no charged-currency line
    expect(page.locator("#refund-dialog").get_by_text("Amount charged")).to_have_count(0)
    shot(page, "dialog-preview-paul-TOP-3001")
    page.get_by_role("button", name="Cancel").click()

    page.locator("#refund-TOP-3002").click()
    expect(_line(page, "Amount charged")).to_contain_text("CNY 720.00")
    expect(_line(page, "Payment time")).to_contain_text("2026-11-26 09:15 UTC")
    expect(_line(page, "Refundable balance")).to_contain_text("$98.99")
    expect(page.locator("#final-amount")).to_have_text("$94.04")
    expect(page.locator("#final-in-currency")).to_have_text("returned as CNY 677.08")
    expect(page.locator("#forfeits")).to_have_count(0)
    shot(page, "dialog-preview-paul-TOP-3002-cny")

    page.locator("#submit-refund").click()
    confirm = page.locator("#confirm-text")
    expect(confirm).to_contain_text("Refund $94.04 (CNY 677.08) to your Alipay account (Antom)?")
    expect(page.locator("#confirm-effects")).to_contain_text(
        "$98.99 of top-up credits leave your wallet immediately")
    shot(page, "dialog-confirm-paul-TOP-3002-cny")


def test_subscription_preview_and_confirmation_say_free_immediately(page: Page):
    sign_in_as(page, "alice")
    page.locator("#refund-SUB-1002").click()
    free = "Your Pro plan drops to Free immediately when the refund is approved"
    expect(page.locator("#refund-effects")).to_contain_text(free)
    expect(_line(page, "Refundable balance")).to_contain_text("$16.54")
    expect(page.locator("#final-amount")).to_have_text("$15.71")
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-text")).to_have_text("Refund $15.71 to your card (Stripe)?")
    expect(page.locator("#confirm-effects")).to_contain_text(free)
    expect(page.locator("#amount-changed")).to_have_count(0)  # nothing moved
    expect(page.locator("#previous-final")).to_have_count(0)
    shot(page, "dialog-confirm-alice-free-immediately")
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    expect(page.locator("#current-plan")).to_have_text("Free")  # as announced
    expect(page.locator("#settled-changed")).to_have_count(0)


def test_usage_between_preview_and_submit_is_said_at_confirmation(page: Page, app_server):
    sign_in_as(page, "alice")
    page.locator("#refund-SUB-1002").click()
    expect(page.locator("#final-amount")).to_have_text("$15.71")
    # the gateway bills a $2.00 call while the preview is open (the usage feed)
    answer = app_server.report_usage(call_id="between-steps-1", account="alice",
                                      amount="2.00", billed_to="subscription",
                                      at="2026-11-26T11:59:30Z")
    assert answer["recorded"] is True
    page.locator("#submit-refund").click()
    # usage 3.456789 + 2.00 -> $5.46; refundable $14.54; floor(1454 * 0.95) = $13.81
    expect(page.locator("#amount-changed")).to_have_text(
        "The amount changed from $15.71 to $13.81 because of usage since you opened this.")
    expect(page.locator("#previous-final")).to_have_text("$15.71")
    expect(page.locator("#confirm-text")).to_have_text(
        "Refund $15.71 $13.81 to your card (Stripe)?")
    shot(page, "dialog-confirm-amount-changed")

    # a second call after the confirmation was shown: the approval settles lower still
    app_server.report_usage(call_id="between-steps-2", account="alice", amount="1.00",
                            billed_to="subscription", at="2026-11-26T11:59:40Z")
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    # usage $6.46; refundable $13.54; floor(1354 * 0.95) = $12.86
    changed = page.locator("#settled-changed")
    expect(changed).to_contain_text("the preview showed $13.81")
    expect(changed).to_contain_text("the settled amount is $12.86")
    shot(page, "dialog-status-settled-changed")


def test_a_failed_last_refund_is_shown_before_any_new_preview(page: Page):
    _credits(page, "fiona")
    page.locator("#refund-TOP-6002").click()
    failed = page.locator("#last-refund-failed")
    expect(failed).to_have_text(
        "Your refund RF-6002 of this order failed: please contact support")
    expect(page.locator("#support-contact")).to_have_text("support@zenmux.ai")
    expect(page.locator("#support-contact")).to_have_attribute(
        "href", "mailto:support@zenmux.ai?subject=Refund%20RF-6002%20failed")
    # no new preview until the customer asks for one
    expect(page.locator("#final-amount")).to_have_count(0)
    expect(page.locator("#submit-refund")).to_have_count(0)
    shot(page, "dialog-failed-first-fiona")
    page.locator("#continue-to-preview").click()
    expect(page.locator("#final-amount")).to_have_text("$14.25")
    expect(_line(page, "Platform fee (5%)")).to_contain_text("$0.75")
    expect(page.locator("#submit-refund")).to_be_enabled()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#refund-dialog")).to_have_count(0)

    # closing from the notice starts nothing
    page.locator("#refund-TOP-6002").click()
    expect(failed).to_be_visible()
    page.locator("#close-failed").click()
    expect(page.locator("#refund-dialog")).to_have_count(0)
    expect(page.locator("#balance-topup")).to_have_text("$15.00")

    # a row whose last refund did not fail opens on its preview
    page.locator("#sign-out").click()
    _credits(page, "paul")
    page.locator("#refund-TOP-3001").click()
    expect(page.locator("#final-amount")).to_have_text("$40.72")
    expect(page.locator("#last-refund-failed")).to_have_count(0)


def test_the_dialog_fits_a_phone(page: Page, app_server):
    page.set_viewport_size(PHONE)
    _credits(page, "fiona")
    page.locator("#refund-TOP-6002").click()
    expect(page.locator("#last-refund-failed")).to_be_visible()
    _fits(page)
    shot(page, "dialog-phone-failed-first")
    page.locator("#close-failed").click()

    page.locator("#sign-out").click()
    _credits(page, "paul")
    page.locator("#refund-TOP-3001").click()
    expect(page.locator("#forfeits")).to_be_visible()
    _fits(page)
    shot(page, "dialog-phone-preview-TOP-3001")
    page.get_by_role("button", name="Cancel").click()
    page.locator("#refund-TOP-3002").click()
    expect(page.locator("#final-in-currency")).to_be_visible()
    _fits(page)
    shot(page, "dialog-phone-preview-TOP-3002-cny")
    app_server.report_usage(call_id="phone-1", account="paul", amount="2.00",
                            billed_to="credits", at="2026-11-26T11:59:30Z")
    page.locator("#submit-refund").click()
    expect(page.locator("#amount-changed")).to_be_visible()
    _fits(page)
    shot(page, "dialog-phone-confirm-amount-changed")
