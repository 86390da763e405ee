"""Empty and loading states (issue 11 item 10), as a customer sees them:

- an account with no orders reads "No subscription payments yet." / "No top-ups yet."
  with a link to the public pricing page, and the Refunds sections say there are none;
- before the server's first answer the billing pages show skeletons, never "$0.00" or
  "0 rows": the test holds every state frame the server sends on the page's WebSocket
  (Playwright's ``route_web_socket``; the socket itself connects), so what it sees is
  exactly what the browser draws from the page's initial state, then lets them through
  and sees the data replace the skeletons;
- on tom's four-month top-up history (demo scenario) only the newest expired row says
  "Refund window expired"; older ones carry one muted "Expired" tag, buttons disabled.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import shot, sign_in_as
from tests.support.appserver import EXAMPLE_NOW

PRICING = "https://zenmux.ai/pricing"


def _nobody_scenario(tmp_path) -> str:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"now": EXAMPLE_NOW, "accounts": [
        {"ref": "nora", "email": "nora@example.com", "name": "Nora New",
         "password": "nora-demo-pass"},
    ]}))
    return str(path)


def test_an_account_without_orders_sees_empty_lists(page: Page, app_server, tmp_path):
    app_server.load_scenario(_nobody_scenario(tmp_path))
    sign_in_as(page, "nora")

    expect(page.locator("#no-payments")).to_have_text("No subscription payments yet.")
    link = page.locator("#no-payments-pricing")
    expect(link).to_have_attribute("href", PRICING)
    expect(link).to_have_attribute("target", "_blank")
    expect(page.locator("#no-refunds")).to_have_text(
        "No refunds of your subscription payments yet.")
    expect(page.locator("#current-plan")).to_have_text("Free")
    # nothing empty pretends to be a table
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"\b0 rows\b"))).to_have_count(0)
    expect(page.locator(".loading-skeleton")).to_have_count(0)
    shot(page, "empty-subscription")

    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator("#no-topups")).to_have_text("No top-ups yet.")
    expect(page.locator("#no-topups-pricing")).to_have_attribute("href", PRICING)
    expect(page.locator("#no-refunds")).to_have_text("No refunds of your top-ups yet.")
    expect(page.locator("#balance-total")).to_have_text("$0.00")  # loaded: a real zero
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.locator(".loading-skeleton")).to_have_count(0)
    shot(page, "empty-credits")


def test_an_account_with_orders_sees_no_empty_message(page: Page):
    """The control: the same pages for paul show the table and no empty message."""
    sign_in_as(page, "paul")
    expect(page.locator("#no-payments")).to_be_visible()  # paul only tops up
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator(".tx-order").first).to_be_visible()
    expect(page.locator("#no-topups")).to_have_count(0)


def _carries_state(message) -> bool:
    """A Socket.IO event frame ("42…": the state deltas). The connection's own frames
    (Engine.IO open and ping, Socket.IO connect) pass, so the socket connects as usual
    and only the data waits."""
    return isinstance(message, str) and message.startswith("42")


class _HeldSocket:
    """Holds the state the server sends on the page's event socket until
    ``release()``; the connection's own frames, and what the page sends, go on at once.
    Keeps a log of each socket (frames held, passed and sent, which side closed it),
    which ``loaded()`` reports when the page does not load after all (the page's
    console is in the failing test's report: tests/support/traffic.py)."""

    def __init__(self, page: Page) -> None:
        self.held: list = []
        self.routes: list[WebSocketRoute] = []
        self.released = False
        self.log: list[str] = []
        self.page = page

    def handle(self, ws: WebSocketRoute) -> None:
        n = len(self.routes)
        server = ws.connect_to_server()
        self.routes.append(ws)
        self.log.append(f"socket {n} opened: {ws.url[:120]}")

        def from_server(message) -> None:
            hold = not self.released and _carries_state(message)
            self.log.append(f"socket {n} {'held' if hold else 'passed'}: {str(message)[:80]!r}")
            if hold:
                self.held.append((ws, message))
            else:
                ws.send(message)

        def page_closed(code, reason) -> None:  # forwarded, as Playwright does by default
            self.log.append(f"socket {n} closed by the page: {code} {reason}")
            server.close(**_sendable(code, reason))

        def server_closed(code, reason) -> None:
            self.log.append(f"socket {n} closed by the server: {code} {reason}")
            ws.close(**_sendable(code, reason))

        def from_page(message) -> None:
            self.log.append(f"socket {n} sent: {str(message)[:80]!r}")
            server.send(message)

        server.on_message(from_server)
        ws.on_message(from_page)
        ws.on_close(page_closed)
        server.on_close(server_closed)

    def release(self) -> None:
        self.log.append(f"release: {len(self.held)} frames held")
        self.released = True
        for ws, message in self.held:
            ws.send(message)
        self.held.clear()

    def loaded(self, check) -> None:
        """``check()`` (an ``expect``), with this socket's log added if it fails."""
        try:
            check()
        except AssertionError as exc:
            self.log.append("page: " + str(self.page.evaluate(_PAGE_FACTS)))
            raise AssertionError("the page did not load once released; its sockets:\n"
                                 + "\n".join(self.log[-60:])) from exc


# whether React has mounted the page, and the tab's token (the socket's URL names it)
_PAGE_FACTS = """() => {
    const root = document.body.firstElementChild;
    return {react_mounted: root ? Object.keys(root).some(k => k.startsWith('__react')) : false,
            ready: document.readyState, visible: document.visibilityState,
            token: sessionStorage.getItem('token')};
}"""


def _sendable(code, reason) -> dict:
    """A close code one side may send (1005/1006 only report what happened)."""
    return {"code": code, "reason": reason} if code == 1000 or (code or 0) >= 3000 else {}


def _held_page_load(page: Page, path: str) -> _HeldSocket:
    held = _HeldSocket(page)
    page.route_web_socket(re.compile(r".*/_event.*"), held.handle)
    page.goto(path)
    page.wait_for_load_state("load")
    for _ in range(100):  # the socket is open (Playwright calls handle() as it opens)
        if held.routes:
            break
        page.wait_for_timeout(100)
    assert held.routes, "the page opened no event socket"
    return held


def test_billing_pages_show_skeletons_until_the_first_load(page: Page):
    sign_in_as(page, "paul")

    held = _held_page_load(page, "/credits")
    page.wait_for_timeout(1_000)  # ample time to draw anything the server had sent
    for key in ("total", "topup", "bonus"):
        expect(page.locator(f"#skeleton-balance-{key}")).to_be_visible()
        expect(page.locator(f"#balance-{key}")).to_have_count(0)
    expect(page.locator("#skeleton-transactions")).to_be_visible()
    expect(page.locator("#skeleton-transactions")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#skeleton-records")).to_be_visible()
    body = page.locator("body")
    expect(body).not_to_contain_text("$0.00")
    expect(body).not_to_contain_text(re.compile(r"\b0 rows\b"))
    expect(page.locator("#no-topups")).to_have_count(0)  # not "empty" either
    expect(page.locator("#no-refunds")).to_have_count(0)
    # a signed-in page never offers "Sign in" while it loads (only a visitor of the
    # public policy page sees that link)
    expect(page.locator("#sign-in-link")).to_have_count(0)
    shot(page, "loading-credits")

    held.release()
    held.loaded(lambda: expect(page.locator("#balance-topup")).to_have_text("$179.37"))
    expect(page.locator(".loading-skeleton")).to_have_count(0)
    expect(page.locator(".tx-order").first).to_be_visible()

    held = _held_page_load(page, "/subscription")
    page.wait_for_timeout(1_000)
    expect(page.locator("#skeleton-plan-name")).to_be_visible()
    expect(page.locator("#current-plan")).to_have_count(0)
    expect(page.locator("#skeleton-history")).to_be_visible()
    expect(page.locator("#no-payments")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(re.compile(r"\b0 rows\b"))
    shot(page, "loading-subscription")
    held.release()
    held.loaded(lambda: expect(page.locator("#no-payments")).to_be_visible())
    expect(page.locator(".loading-skeleton")).to_have_count(0)


def _shown(page: Page, words: str):
    """The elements that show exactly ``words`` on screen (not the visually hidden
    descriptions of disabled buttons, which are for assistive technology)."""
    return page.get_by_text(words, exact=True).and_(page.locator(":not(.visually-hidden)"))


def test_older_expired_rows_carry_one_muted_tag(page: Page, app_server):
    app_server.load_scenario("demo")
    sign_in_as(page, "tom")
    page.get_by_role("link", name="Credits").click()
    page.wait_for_url("**/credits{,/}")
    expect(page.locator("#reason-TOP-8034")).to_have_text("Refund window expired")
    older = page.locator("#reason-TOP-8033")
    expect(older).to_have_text("Expired")
    expect(older).to_have_attribute("title", "Refund window expired")
    expect(page.locator("#refund-TOP-8033")).to_be_disabled()
    expect(page.locator("#refund-TOP-8034")).to_be_disabled()
    expect(page.locator("#refund-TOP-8100")).to_be_enabled()
    # one sentence shown on the page, every older expired row tagged (and each tagged
    # row's disabled button described by the full reason, for assistive technology only)
    expect(_shown(page, "Refund window expired")).to_have_count(1)
    expect(page.locator("#refund-TOP-8033")).to_have_attribute("aria-describedby", "why-TOP-8033")
    expect(page.locator("#why-TOP-8033")).to_have_text("Refund window expired")
    expect(page.locator("#why-TOP-8033")).to_have_class("visually-hidden")
    tags = page.locator(".reason-tag")
    assert tags.count() >= 2
    assert set(tags.all_inner_texts()) == {"Expired"}
    page.locator("#reason-TOP-8034").scroll_into_view_if_needed()
    shot(page, "expired-rows-tagged")

    # the next page reads on its own: its newest expired row says it again, once
    page.get_by_role("button", name="Next").first.click()
    expect(page.get_by_text(re.compile(r"Page 2 of"))).to_be_visible()
    expect(_shown(page, "Refund window expired")).to_have_count(1)
    expect(page.locator(".reason-tag").first).to_have_text("Expired")
