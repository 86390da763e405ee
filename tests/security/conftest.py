"""Attack tests: each runs against a real production build over HTTP and the
WebSocket, the way an attacker would. A module says how its server is configured with
``SERVER_ENV`` (a dict of environment variables on top of ``tests.support.appserver.
base_env``: demo mode off unless it sets ``ZENMUX_DEMO``). The server is module-scoped,
so only one runs at a time (see ``tests/support/appserver.py``).

Run as its own pytest session with ``-p no:asyncio`` (``scripts/test`` does)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import ARTIFACTS, browser, shot  # noqa: F401 (fixture)
from tests.support.appserver import AppServer, running_app


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> AppServer:
    env = getattr(request.module, "SERVER_ENV", {})
    with running_app(tmp_path_factory.mktemp("secure-app"), env) as app:
        yield app


@pytest.fixture
def context(browser, server, request) -> BrowserContext:  # noqa: F811
    server.load_scenario("example")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.base_url)
    ctx.set_default_timeout(30_000)
    yield ctx
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, pg in enumerate(ctx.pages):
        try:
            pg.screenshot(path=str(ARTIFACTS / f"security-{request.node.name}-{i}.png"),
                          full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot must not hide the result
            pass
    ctx.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@dataclass
class Frames:
    """Every WebSocket frame a page received, in order, as text."""

    received: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    mark: int = 0

    def since_mark(self) -> str:
        return "\n".join(self.received[self.mark:])

    def set_mark(self) -> None:
        self.mark = len(self.received)


def record_frames(page: Page) -> Frames:
    frames = Frames()

    def on_socket(ws):
        ws.on("framereceived", lambda payload: frames.received.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))
        ws.on("framesent", lambda payload: frames.sent.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    page.on("websocket", on_socket)
    return frames


def forge_events(page: Page, rewrite) -> list[str]:
    """Route the page's Reflex socket through ``rewrite(name, payload)``, which returns
    the (name, payload) to send instead (or None to leave the event as it is)."""
    sent: list[str] = []

    def handler(ws):
        upstream_ws = ws.connect_to_server()

        def upstream(message):
            match = re.match(r"^42/_event,(.*)$", message, re.S) if isinstance(message, str) else None
            if match:
                kind, event = json.loads(match.group(1))
                changed = rewrite(event["name"], event.get("payload"))
                if changed is not None:
                    event["name"], event["payload"] = changed
                    message = "42/_event," + json.dumps([kind, event])
                    sent.append(event["name"])
            upstream_ws.send(message)

        ws.on_message(upstream)
        upstream_ws.on_message(lambda m: ws.send(m))

    page.route_web_socket(re.compile(r".*/_event/.*"), handler)
    return sent
