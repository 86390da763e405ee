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
    expect(page.get_by_role("heading", name="Refund policy & FAQ")).to_be_visible()
    expect(page.get_by_text("within 24 hours of paying for it")).to_be_visible()
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
    page.wait_for_url("**/subscription{,/}")
    expect(page.locator("#account-name")).to_have_text("Sam Support")
    page.get_by_role("link", name="Support console").click()
    page.wait_for_url("**/support{,/}")
    expect(page.get_by_role("heading", name="Support console")).to_be_visible()

    page.locator("#sign-out").click()
    page.wait_for_url("**/sign-in{,/}")
    page.goto("/support")
    page.wait_for_url(re.compile(r".*/sign-in$"))
