"""Finding 7's other half: with the server no longer ticking the refund window, the
browser does (assets/countdown.js), on the app's clock. Here the app clock runs
(ZENMUX_CLOCK=running from the example's instant, a day before the real time): the
window text starts at what the server said and moves down a minute, in the browser.
The frozen-clock case (the text stays put) is in test_dialog_background.py."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_as

SERVER_ENV = {"ZENMUX_DEMO": "1", "ZENMUX_CLOCK": "running"}


def _text(seconds: int) -> str:
    minutes = max(seconds, 0) // 60
    return f"Refund window remaining {minutes // 60}h {minutes % 60}m"


def test_the_window_counts_down_in_the_browser_on_the_app_clock(page: Page):
    sign_in_as(page, "alice")
    page.locator("#refund-SUB-1002").click()
    window = page.locator("#refund-window")
    expect(window).to_have_attribute("data-countdown-runs", "true")
    seconds = int(window.get_attribute("data-countdown-seconds"))
    # the app clock started at 12:00 with 14 h left, not at the browser's time
    assert 13 * 3600 < seconds <= 14 * 3600
    shown = window.text_content()
    assert shown in (_text(seconds), _text(seconds - 1))
    # the next minute boundary is at most `seconds % 60` seconds away
    expect(window).to_have_text(_text(seconds - seconds % 60 - 1),
                                timeout=(seconds % 60 + 5) * 1000)
