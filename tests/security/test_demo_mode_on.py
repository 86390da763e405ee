"""Findings 1 and 2 in demo mode (ZENMUX_DEMO=1): it says so, one-click sign-in takes
only the scenario's demo personas, and only support moves the shared clock or resets.

Before the fix any signed-in customer moved the clock (and so granted another account's
referral reward) and reset the demo; one-click sign-in took any account's ref; no page
said that demo mode was on."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_as
from tests.security.conftest import event_name, forge_events, wait_for

SERVER_ENV = {"ZENMUX_DEMO": "1"}


def _execute(server, sql: str) -> None:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_demo_mode_is_announced_on_every_page_and_in_the_log(page: Page, server):
    assert "DEMO MODE IS ON" in server.log_text()
    page.goto("/sign-in")
    expect(page.locator("#demo-banner")).to_be_visible()
    sign_in_as(page, "alice")
    for path in ("/subscription", "/credits", "/request", "/policy"):
        page.goto(path)
        expect(page.locator("#demo-banner")).to_be_visible()


def test_one_click_sign_in_takes_only_demo_personas(page: Page, server):
    _execute(server, "update account set demo_persona = false where ref = 'sam'")
    page.goto("/sign-in")
    expect(page.locator("#persona-paul")).to_be_visible()
    expect(page.locator("#persona-sam")).to_have_count(0)
    answer = page.request.post(f"{server.base_url}/api/auth/persona", form={"ref": "sam"},
                               max_redirects=0)
    assert answer.status == 303 and "error=no-persona" in answer.headers["location"]
    assert "set-cookie" not in answer.headers
    assert server.rows("select count(*) from authsession") == [(0,)]
    sign_in_as(page, "paul")  # control: a persona still signs in with one click
    assert server.rows("select count(*) from authsession") == [(1,)]


def _forge_demo_events(page: Page, events: list[tuple[str, dict]]) -> list[str]:
    """Turn the next clicks on "Simulate API call" into ``events`` (DemoState handlers)."""
    queue, sent = list(events), []

    def rewrite(name, payload):
        if queue and name.endswith("demo_state.simulate_call"):
            handler, args = queue.pop(0)
            sent.append(handler)
            return event_name("layout", "demo_state", handler), args
        return None

    forge_events(page, rewrite)
    return sent


def test_a_customer_cannot_move_the_shared_clock_or_reset_the_demo(page: Page, server):
    before = server.rows("select offset_seconds from clocksetting")
    rewards = server.rows("select status from referralreward order by id")
    sessions = server.rows("select count(*) from authsession")
    sent = _forge_demo_events(page, [("advance", {"duration": "60d"}),
                                     ("advance", {"duration": "1d"}),
                                     ("reset_demo", {})])
    sign_in_as(page, "alice")
    expect(page.locator("#clock-1d")).to_have_count(0)  # hidden from customers, and ...
    for _ in range(3):
        page.locator("#simulate-call").click()
        page.wait_for_timeout(600)
    assert wait_for(lambda: len(sent) == 3, page=page)
    page.wait_for_timeout(1000)
    # ... refused by the server: the clock, the rewards and the database are untouched
    assert server.rows("select offset_seconds from clocksetting") == before
    assert server.rows("select status from referralreward order by id") == rewards
    assert server.rows("select count(*) from authsession") == [(sessions[0][0] + 1,)]
    expect(page.locator("#demo-message")).to_contain_text("Only support")


def test_support_moves_the_clock_with_ascii_durations_only(page: Page, server):
    before = server.rows("select offset_seconds from clocksetting")[0][0]
    sent = _forge_demo_events(page, [("advance", {"duration": "\u0661d"}),
                                     ("advance", {"duration": "\uff11h"})])
    sign_in_as(page, "sam")
    for _ in range(2):
        page.locator("#simulate-call").click()
        page.wait_for_timeout(600)
    assert wait_for(lambda: len(sent) == 2, page=page)
    page.wait_for_timeout(800)
    assert server.rows("select offset_seconds from clocksetting")[0][0] == before
    # control: support's own +1 hour button moves it
    page.locator("#clock-1h").click()
    assert wait_for(lambda: server.rows("select offset_seconds from clocksetting")[0][0]
                    == before + 3600, page=page)
