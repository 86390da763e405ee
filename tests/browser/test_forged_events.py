"""Events a browser can forge: Playwright rewrites the customer's own WebSocket
messages on the way to the server, naming other accounts' orders or support handlers.
The server must change nothing, whatever the browser sends."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_as
from tests.support.sockets import forge_events

OPEN_FOR = "zenmux_refunds___ui___refund_dialog____refund_dialog_state.open_for"


def _rows(app_server, sql: str) -> list[tuple]:
    engine = sa.create_engine(app_server.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def test_naming_another_accounts_order_changes_nothing(page: Page, app_server):
    [(rita_order,)] = _rows(app_server, "select id from topuporder where ref = 'TOP-4001'")
    [(alice_sub,)] = _rows(app_server, "select id from subscriptionpayment where ref = 'SUB-1002'")
    targets = iter([("topup", rita_order), ("subscription", alice_sub)])

    def rewrite(name, payload):
        if name.endswith(OPEN_FOR):
            kind, order_id = next(targets)
            return name, {"kind": kind, "order_id": order_id}
        return None

    sent = forge_events(page, rewrite)
    sign_in_as(page, "paul")
    page.get_by_role("link", name="Credits").click()
    for attempt in (1, 2):
        page.locator("#refund-TOP-3001").click()
        for _ in range(50):  # the forged message has left the page
            if len(sent) == attempt:
                break
            page.wait_for_timeout(100)
        assert len(sent) == attempt
        expect(page.get_by_text("Order not found.").last).to_be_visible()
        expect(page.locator("#refund-dialog")).to_have_count(0)
    assert _rows(app_server, "select count(*) from refund") == [(3,)]
    assert _rows(app_server, "select plan from currentplan join account a on a.id = account_id "
                             "where a.ref = 'alice'") == [("Pro",)]


def test_a_customer_sending_support_events_changes_nothing(page: Page, app_server):
    [(rf_4001,)] = _rows(app_server, "select id from refund where ref = 'RF-4001'")
    [(rf_6002,)] = _rows(app_server, "select id from refund where ref = 'RF-6002'")
    forged = iter([("cancel", {"refund_id": rf_4001}), ("retry", {"refund_id": rf_6002}),
                   ("sandbox", {"form": {"order_ref": "TOP-3001", "outcome": "fail"}})])

    def rewrite(name, payload):
        if name.endswith(OPEN_FOR):
            handler, args = next(forged)
            return (name.replace(OPEN_FOR,
                                 f"zenmux_refunds___ui___support____support_state.{handler}"),
                    args)
        return None

    sent = forge_events(page, rewrite)
    sign_in_as(page, "paul")
    page.get_by_role("link", name="Credits").click()
    for _ in range(3):
        page.locator("#refund-TOP-3001").click()
        page.wait_for_timeout(500)
    assert len(sent) == 3
    assert _rows(app_server, "select ref, status from refund order by ref") == [
        ("RF-4001", "refunding"), ("RF-6001", "refunded"), ("RF-6002", "failed")]
    assert _rows(app_server, "select sandbox_outcome from topuporder where ref = 'TOP-3001'") == [
        ("succeed",)]


def test_the_same_forged_event_from_support_does_act(page: Page, app_server):
    """Control for the test above: the rewritten event is well formed, so it is the
    role check, not a malformed message, that stops a customer."""
    [(rf_4001,)] = _rows(app_server, "select id from refund where ref = 'RF-4001'")
    refresh = "zenmux_refunds___ui___support____support_state.refresh"

    def rewrite(name, payload):
        if name.endswith(refresh):
            return name.replace(refresh, "zenmux_refunds___ui___support____support_state.cancel"), \
                {"refund_id": rf_4001}
        return None

    sent = forge_events(page, rewrite)
    sign_in_as(page, "sam")  # support lands on the console; act once its load has run
    expect(page.locator("#support-refund-RF-6001")).to_be_visible()
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#support-message")).to_have_text("Refund canceled.")
    assert len(sent) == 1
    assert _rows(app_server, "select status from refund where ref = 'RF-4001'") == [("canceled",)]
