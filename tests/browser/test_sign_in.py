"""Sign-in as a customer would do it, in Chromium against the production build."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in_as


def test_pages_need_a_session(page: Page):
    page.goto("/subscription")
    page.wait_for_url("**/sign-in{,/}")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_demo_persona_sign_in_shows_the_account_name(page: Page):
    page.goto("/sign-in")
    expect(page.locator("#persona-alice")).to_contain_text("Alice Chen")
    shot(page, "sign-in-personas")
    sign_in_as(page, "alice")
    expect(page.locator("#account-name")).to_have_text("Alice Chen")
    expect(page.get_by_text("alice@example.com")).to_be_visible()
    contact = page.locator("#contact-us")
    for words in ("support@zenmux.ai", "business@zenmux.example", "zenmux.ai",
                  "Discord community", "Refund policy & FAQ"):
        expect(contact).to_contain_text(words)
    contact.get_by_role("link", name="Refund policy & FAQ").click()
    page.wait_for_url("**/policy{,/}")
    expect(page.get_by_role("heading", name="Refunds", exact=True)).to_be_visible()
    expect(page.get_by_text("within 24 hours of a successful subscription")).to_be_visible()
    page.go_back()
    # A customer sees no support console, and cannot open it by its URL.
    expect(page.get_by_role("link", name="Support console")).to_have_count(0)
    page.goto("/support")
    page.wait_for_url("**/subscription{,/}")
    shot(page, "signed-in-alice")


def test_password_sign_in_and_sign_out(page: Page):
    page.goto("/sign-in")
    page.locator("#email").fill("sam@zenmux.example")
    page.locator("#password").fill("wrong-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#sign-in-error")).to_have_text("Wrong e-mail or password.")
    shot(page, "sign-in-wrong-password")

    page.locator("#email").fill("sam@zenmux.example")
    page.locator("#password").fill("sam-demo-pass")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/support{,/}")  # support lands on the console it works in
    expect(page.locator("#account-name")).to_have_text("Sam Support")
    expect(page.get_by_role("heading", name="Support console")).to_be_visible()

    page.locator("#sign-out").click()
    page.wait_for_url("**/sign-in{,/}")
    page.goto("/support")
    page.wait_for_url(re.compile(r".*/sign-in$"))


def test_the_policy_page_is_public_and_in_the_policys_own_words(page: Page):
    """No session: /policy opens (no redirect to sign-in) with the policy's tables — the
    refusal reasons exactly as the Refund button shows them, the statuses, the formula
    with the configured fee, the channels — and a Sign in link instead of the account."""
    page.goto("/policy")
    expect(page.get_by_role("heading", name="Refunds", exact=True)).to_be_visible()
    assert "/policy" in page.url
    expect(page.locator("#sign-in-link")).to_be_visible()
    expect(page.locator("#account-name")).to_have_count(0)
    expect(page.get_by_role("link", name="Credits", exact=True)).to_have_count(0)
    cases = page.locator("#policy-cases")
    for reason in ("Order not completed", "Gift subscriptions are not eligible for refunds",
                   "Refund in progress", "Fully refunded",
                   "Not refundable online \u2014 request by email", "Refund window expired",
                   "Usage exceeds refundable amount", "Insufficient balance"):
        expect(cases).to_contain_text(reason)
    statuses = page.locator("#policy-statuses")
    for words in ("Refunding", "Refunded", "Failed", "Canceled",
                  "Refund could not be processed \u2014 please contact support"):
        expect(statuses).to_contain_text(words)
    expect(page.locator("#policy-formula")).to_have_text(
        "Formula: Refund Amount = (Total Paid - Actual Usage - Already Refunded) × (1 - 5%)")
    expect(page.locator("#policy-channels")).to_contain_text("Antom (Alipay, etc.)")
    expect(page.get_by_text("Any exchange rate differences are borne by the user")).to_be_visible()
    shot(page, "policy-public")
    page.locator("#sign-in-link").click()
    page.wait_for_url("**/sign-in{,/}")
