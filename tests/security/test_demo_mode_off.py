"""Finding 1: with ZENMUX_DEMO unset (as a production copy starts), no demo door opens.

Before the fix demo mode was on by default: the sign-in page's state carried every
persona, support included; one forged ``persona`` event gave a session with no
password; and a support session could move the clock, reset the database, bill calls
and set Sandbox outcomes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.security.conftest import (
    event_name,
    forge_events,
    inject_events,
    record_frames,
    sign_in_with_password,
    wait_for,
)

SERVER_ENV: dict[str, str] = {}  # ZENMUX_DEMO unset


def test_the_sign_in_page_offers_no_personas(page: Page, server):
    frames = record_frames(page)
    page.goto("/sign-in")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    page.wait_for_timeout(1000)
    assert page.locator("[id^=persona-]").count() == 0
    assert page.locator("#demo-banner").count() == 0
    received = "\n".join(frames.received)
    assert "sam@zenmux.example" not in received and "Sam Support" not in received
    assert "alice@example.com" not in received


def test_a_forged_persona_event_opens_no_session(page: Page, server):
    sent = inject_events(page, [(event_name("sign_in", "sign_in_state", "persona"),
                                 {"account_ref": "sam"})])
    page.goto("/sign-in")
    assert wait_for(lambda: len(sent) == 1, page=page)
    page.wait_for_timeout(2000)
    assert server.rows("select count(*) from authsession") == [(0,)]
    page.goto("/support")
    page.wait_for_url("**/sign-in**")


def test_the_persona_endpoint_refuses(page: Page, server):
    answer = page.request.post(f"{server.base_url}/api/auth/persona", form={"ref": "sam"},
                               max_redirects=0)
    assert answer.status in (303, 404, 405)
    assert "set-cookie" not in answer.headers
    assert server.rows("select count(*) from authsession") == [(0,)]


def test_support_cannot_use_demo_controls_when_demo_mode_is_off(page: Page, server):
    before = {
        "clock": server.rows("select offset_seconds, anchor_at from clocksetting"),
        "usage": server.rows("select count(*) from usagerecord"),
        "sandbox": server.rows("select ref, sandbox_outcome from topuporder order by ref"),
        "accounts": server.rows("select id, ref from account order by id"),
    }
    forged = [
        ("layout", "demo_state", "advance", {"duration": "60d"}),
        ("layout", "demo_state", "reset_demo", {}),
        ("layout", "demo_state", "simulate_call", {"form_data": {"amount": "5.00",
                                                                 "billed_to": "credits"}}),
        ("support", "support_state", "sandbox", {"form": {"order_ref": "TOP-3001",
                                                          "outcome": "fail"}}),
    ]
    queue = list(forged)
    sent: list[str] = []

    def rewrite(name, payload):
        if queue and name.endswith("support_state.refresh"):
            module, state, handler, args = queue.pop(0)
            sent.append(handler)
            return event_name(module, state, handler), args
        return None

    forge_events(page, rewrite)
    sign_in_with_password(page, "sam@zenmux.example", "sam-demo-pass")
    page.wait_for_url("**/support{,/}")  # support lands on the console
    assert page.locator("#sandbox-order").count() == 0  # hidden, and refused below
    for _ in forged:
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(700)
    assert sent == [f[2] for f in forged]
    after = {
        "clock": server.rows("select offset_seconds, anchor_at from clocksetting"),
        "usage": server.rows("select count(*) from usagerecord"),
        "sandbox": server.rows("select ref, sandbox_outcome from topuporder order by ref"),
        "accounts": server.rows("select id, ref from account order by id"),
    }
    assert after == before
