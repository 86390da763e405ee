"""Every customer, every device (issue 12 items 1 and 2): no page and no dialog step
scrolls sideways at 390 px, tables become stacked cards on a phone, axe-core finds no
critical or serious violation on any page or dialog step, and the refund dialog works
with the keyboard alone, focus coming back to the Refund button when it closes.
Screenshots at 390, 768 and 1400 px are kept as artifacts (example scenario; the clock
is frozen at 2026-11-26 12:00 UTC and the Sandbox settles after 5 s)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, sign_in_as

PHONE = {"width": 390, "height": 844}


def _check(page: Page, name: str, failures: list[str]) -> None:
    # axe and the sideways check on a phone; at 768 and 1400 px too (scroll, screenshot)
    check_page(page, f"device-{name}", failures, also_at=(768, 1400))


def _customer_walk(page: Page, failures: list[str]) -> None:
    page.goto("/policy")
    expect(page.locator("#policy-cases")).to_be_visible()
    _check(page, "policy-visitor", failures)
    page.goto("/sign-in")
    expect(page.locator("#persona-alice")).to_be_visible()
    _check(page, "sign-in", failures)
    sign_in_as(page, "alice")
    expect(page.locator("#refund-SUB-1002")).to_be_enabled()
    _check(page, "subscription", failures)
    page.locator("#refund-SUB-1002").click()
    expect(page.locator("#final-amount")).to_have_text("$15.71")
    _check(page, "dialog-preview", failures)
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-refund")).to_be_visible()
    _check(page, "dialog-confirm", failures)
    page.locator("#confirm-refund").click()
    expect(page.locator("#refund-status")).to_have_text("Refunding")
    _check(page, "dialog-status", failures)
    page.locator("#close-dialog").click()
    page.locator(".refund-record button").first.click()
    expect(page.locator("#refund-timeline .timeline-event").first).to_be_visible()
    _check(page, "timeline", failures)
    page.locator("#close-timeline").click()
    for route, ready in (("/credits", "#balance-total"), ("/request", "#req-contact"),
                         ("/mailbox", "#mailbox-list, #mailbox-empty")):
        page.goto(route)
        expect(page.locator(ready).first).to_be_visible()
        _check(page, route.strip("/"), failures)


def test_every_page_and_dialog_step_fits_and_is_axe_clean(page: Page):
    page.set_viewport_size(PHONE)
    failures: list[str] = []
    _customer_walk(page, failures)
    assert failures == []


def test_a_customer_with_top_ups_and_support_fit_a_phone(page: Page, browser, app_server):
    page.set_viewport_size(PHONE)
    failures: list[str] = []
    sign_in_as(page, "paul")
    page.goto("/credits")
    expect(page.locator(".tx-order").first).to_be_visible()
    # a row is a card: its cells stacked, each labelled with its column, the Refund
    # button inside the card
    first = page.locator(".tx-order").first
    assert first.evaluate("e => getComputedStyle(e).display") == "block"
    expect(first.locator("td[data-label='Amount']")).to_be_visible()
    _check(page, "credits-top-ups", failures)
    page.locator(".tx-order button[id^='refund-']:not([aria-disabled])").first.click()
    expect(page.locator("#final-amount")).to_be_visible()
    _check(page, "dialog-top-up-preview", failures)

    support = browser.new_context(viewport=PHONE, base_url=app_server.base_url)
    try:
        console = support.new_page()
        sign_in_as(console, "sam")
        expect(console.locator("[id^='support-refund-']").first).to_be_visible()
        _check(console, "support", failures)
    finally:
        support.close()
    assert failures == []


def _tab_to(page: Page, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element has the focus (the keyboard alone, no click)."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never took the focus in {limit} tabs")


def _focused(page: Page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.id || "
                         "document.activeElement.getAttribute('data-step-heading') || "
                         "document.activeElement.tagName) : ''")


def test_the_refund_dialog_with_the_keyboard_alone(page: Page):
    sign_in_as(page, "alice")
    expect(page.locator("#refund-SUB-1002")).to_be_enabled()
    # the skip link is the first stop, and leads to the page's own content
    page.keyboard.press("Tab")
    assert _focused(page) == "skip-link"
    page.keyboard.press("Enter")
    assert _focused(page) == "main"

    _tab_to(page, "refund-SUB-1002")
    page.keyboard.press("Enter")
    heading = page.locator("[role=dialog] [data-step-heading]")
    expect(heading).to_have_attribute("data-step-heading", "preview")
    expect(heading).to_be_focused()
    _tab_to(page, "submit-refund")
    page.keyboard.press("Enter")
    # the step changed: the focus is on the new step's heading
    expect(heading).to_have_attribute("data-step-heading", "confirm")
    expect(heading).to_be_focused()
    _tab_to(page, "confirm-refund")
    page.keyboard.press("Enter")
    expect(heading).to_have_attribute("data-step-heading", "status")
    expect(heading).to_be_focused()
    # the status is in a polite live region: Refunding → Refunded is announced
    live = page.locator("#status-live")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live.locator("#refund-status")).to_have_text("Refunding")
    expect(live.locator("#refund-status")).to_have_text("Refunded", timeout=30_000)
    page.keyboard.press("Escape")
    expect(page.locator("[role=dialog]")).to_have_count(0)

    # back on the Refund button: now disabled, still focusable, its reason tied to it
    button = page.locator("#refund-SUB-1002")
    expect(button).to_be_focused()
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-describedby", "reason-SUB-1002")
    expect(page.locator("#reason-SUB-1002")).to_have_text("Fully refunded")
    # a disabled button does nothing, from the keyboard either
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    expect(page.locator("[role=dialog]")).to_have_count(0)
