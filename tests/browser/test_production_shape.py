"""Only in the production shape (``scripts/test-production``: PostgreSQL, Redis, several
app workers, the background pass in a process of its own): one order approved from two
browsers whose WebSockets land on different workers makes one refund, and the refund
settles although no app worker runs the background pass."""

from __future__ import annotations

import threading
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_as
from tests.support.appserver import METRICS_TOKEN, production_shape

pytestmark = pytest.mark.skipif(not production_shape(),
                                reason="the production shape only (scripts/test-production)")

ATTEMPTS = 8  # each lands the two browsers on workers at random: 1/3 same with 3 workers


def _to_confirm(page: Page) -> None:
    sign_in_as(page, "paul")
    page.goto("/credits")
    page.locator("#refund-TOP-3001").click()
    expect(page.locator("#final-amount")).to_have_text("$40.72")
    page.locator("#submit-refund").click()
    expect(page.locator("#confirm-refund")).to_be_visible()


def _decisions(app_server, since: int) -> list[dict]:
    return [line for line in app_server.json_log_lines()[since:]
            if line.get("event") in ("refund approved", "refund refused")
            and line.get("order_ref") == "TOP-3001"]


def test_one_order_approved_from_two_workers_makes_one_refund(browser, app_server):
    for attempt in range(ATTEMPTS):
        app_server.load_scenario("example")
        since = len(app_server.json_log_lines())
        contexts = [browser.new_context(base_url=app_server.base_url) for _ in range(2)]
        try:
            pages = [c.new_page() for c in contexts]
            for p in pages:
                _to_confirm(p)
            # both confirm at once: two clicks, each sent over its own WebSocket
            for p in pages:
                p.evaluate("() => { window.__confirm = document.querySelector"
                           "('#confirm-refund'); }")
            for p in pages:
                p.evaluate("() => window.__confirm.click()")
            statuses = []
            for p in pages:
                # the status step is in the dialog from the start, hidden until shown
                expect(p.locator("#refund-status:visible, #dialog-error:visible")
                       .first).to_be_visible()
                statuses.append(int(p.locator("#refund-status").is_visible()))
            rows = app_server.rows(
                "SELECT r.ref, r.status FROM refund r JOIN topuporder o "
                "ON o.id = r.topup_order_id WHERE o.ref = 'TOP-3001'")
            assert len(rows) == 1, rows  # one refund, whatever the workers
            assert sorted(statuses) == [0, 1]  # one dialog shows it, the other refuses
            decided = []
            for _ in range(40):
                decided = _decisions(app_server, since)
                if len(decided) == 2:
                    break
                pages[0].wait_for_timeout(250)
            assert sorted(d["event"] for d in decided) == ["refund approved", "refund refused"]
            approved = next(d for d in decided if d["event"] == "refund approved")
            assert approved["refund_ref"] == rows[0][0] and approved["account_ref"] == "paul"
            if decided[0]["pid"] != decided[1]["pid"]:
                break  # the two browsers were served by two workers: proven
        finally:
            for c in contexts:
                c.close()
    else:
        pytest.fail(f"the two browsers landed on one worker in all {ATTEMPTS} attempts")

    # no app worker runs the background pass: the background process settles it
    expect_settled = None
    for _ in range(60):
        [(_, expect_settled)] = app_server.rows(
            "SELECT r.ref, r.status FROM refund r JOIN topuporder o "
            "ON o.id = r.topup_order_id WHERE o.ref = 'TOP-3001'")
        if expect_settled == "refunded":
            break
        threading.Event().wait(0.5)
    assert expect_settled == "refunded"

    # and any worker answers the scrape with the counts of every process
    request = urllib.request.Request(f"{app_server.base_url}/metrics",
                                     headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    assert 'zenmux_refunds{kind="topup",status="refunded"}' in text
    assert 'zenmux_approvals_refused_total{reason="Refund in progress"}' in text
    assert 'provider="sandbox"' in text  # counted by the background process
