"""Finding 4: guessing passwords is throttled. Before the fix 280 wrong passwords went
through and the right one still worked; now the 11th attempt on one e-mail within 15
minutes is refused, the right password included, and the page says for how long."""

from __future__ import annotations

import time
import urllib.request

from playwright.sync_api import Page, expect

from tests.security.conftest import sign_in_with_password

SERVER_ENV: dict[str, str] = {}


def test_eleven_wrong_passwords_lock_the_account(page: Page, server):
    for attempt in range(9):
        sign_in_with_password(page, "paul@example.com", f"guess-{attempt}")
        expect(page.locator("#sign-in-error")).to_have_text("Wrong e-mail or password.")
    for attempt in (9, 10):  # the 10th failure locks, and says so; the 11th is refused
        sign_in_with_password(page, "paul@example.com", f"guess-{attempt}")
        expect(page.locator("#sign-in-error")).to_have_text(
            "Too many sign-in attempts — try again in 15 minutes.")
    sign_in_with_password(page, "paul@example.com", "paul-demo-pass")  # the right one
    expect(page.locator("#sign-in-error")).to_have_text(
        "Too many sign-in attempts — try again in 15 minutes.")
    assert server.rows("select count(*) from authsession") == [(0,)]
    # another account signs in as usual (control: the lock is per account)
    sign_in_with_password(page, "alice@example.com", "alice-demo-pass")
    page.wait_for_url("**/subscription{,/}")
    expect(page.locator("#account-name")).to_have_text("Alice Chen")


def test_the_health_check_stays_quick_during_a_guessing_flood(page: Page, server):
    """argon2 runs in threads: a flood of wrong passwords does not stall the loop."""
    import concurrent.futures

    def guess(i):
        page_request = urllib.request.Request(
            f"{server.base_url}/api/auth/sign-in", method="POST",
            data=f"email=user{i}%40example.com&password=guess".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            urllib.request.urlopen(page_request, timeout=30).read()
        except OSError:
            pass

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(guess, i) for i in range(48)]
        time.sleep(0.3)
        started = time.monotonic()
        with urllib.request.urlopen(f"{server.base_url}/_health", timeout=30) as resp:
            assert resp.status == 200
        health_seconds = time.monotonic() - started
        for f in futures:
            f.result()
    print(f"/_health during the flood: {health_seconds:.3f} s")
    assert health_seconds < 2.0
