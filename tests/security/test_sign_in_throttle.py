"""Finding 4: guessing passwords is throttled. Before the fix 280 wrong passwords went
through and the right one still worked; now the 11th attempt on one e-mail within 15
minutes is refused, the right password included, and the page says for how long.
(That a flood of guesses does not stall the app is measured, not asserted:
benchmarks/sign_in_flood.py.)"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.security.conftest import sign_in_with_password

SERVER_ENV: dict[str, str] = {}


def test_eleven_wrong_passwords_lock_the_account(page: Page, server):
    for attempt in range(9):
        sign_in_with_password(page, "rita@example.com", f"guess-{attempt}")
        expect(page.locator("#sign-in-error")).to_have_text("Wrong e-mail or password.")
    for attempt in (9, 10):  # the 10th failure locks, and says so; the 11th is refused
        sign_in_with_password(page, "rita@example.com", f"guess-{attempt}")
        expect(page.locator("#sign-in-error")).to_have_text(
            "Too many sign-in attempts — try again in 15 minutes.")
    sign_in_with_password(page, "rita@example.com", "rita-demo-pass")  # the right one
    expect(page.locator("#sign-in-error")).to_have_text(
        "Too many sign-in attempts — try again in 15 minutes.")
    assert server.rows("select count(*) from authsession") == [(0,)]
    # another account signs in as usual (control: the lock is per account)
    sign_in_with_password(page, "alice@example.com", "alice-demo-pass")
    page.wait_for_url("**/subscription{,/}")
    expect(page.locator("#account-name")).to_have_text("Alice Chen")
