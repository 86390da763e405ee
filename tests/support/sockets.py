"""Playwright helpers on the page's Reflex WebSocket: record every frame, rewrite the
events the page sends, or send events of one's own (browser and attack tests)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from playwright.sync_api import Page


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


def inject_events(page: Page, events: list[tuple[str, dict]]) -> list[str]:
    """Once the page's socket is connected, send ``events`` (name, payload) over it as
    if the page had: an attacker's own events, in the tab's own session."""
    sent: list[str] = []

    def handler(ws):
        upstream_ws = ws.connect_to_server()

        def downstream(message):
            ws.send(message)
            if isinstance(message, str) and message.startswith("40/_event,") and not sent:
                for name, payload in events:
                    upstream_ws.send("42/_event," + json.dumps(
                        ["event", {"name": name, "payload": payload,
                                   "router_data": {"pathname": "/sign-in/",
                                                   "asPath": "/sign-in/"}}]))
                    sent.append(name)

        ws.on_message(lambda m: upstream_ws.send(m))
        upstream_ws.on_message(downstream)

    page.route_web_socket(re.compile(r".*/_event/.*"), handler)
    return sent
