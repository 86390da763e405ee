"""axe-core (from the npm registry, installed by scripts/test into .tools/axe) run in the
page under test. The script is evaluated through the DevTools protocol, so the app's
Content-Security-Policy (no inline script) stays on while it runs."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(os.environ.get(
    "ZENMUX_AXE_JS",
    Path(__file__).resolve().parents[2] / ".tools/axe/node_modules/axe-core/axe.min.js"))
BLOCKING = ("critical", "serious")


@cache
def _source() -> str:
    if not AXE_JS.is_file():
        raise FileNotFoundError(f"{AXE_JS} is missing: scripts/test installs axe-core")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict]:
    """Every axe violation of the page as it is now: id, impact, and the first nodes."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_source() + "\n;0")
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")


def blocking(page: Page) -> list[dict]:
    """The critical and serious violations: what the suite refuses."""
    return [v for v in violations(page) if v["impact"] in BLOCKING]


def scroll_width(page: Page) -> tuple[int, int]:
    """(the document's scroll width, the viewport's width): equal when nothing scrolls
    sideways."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    return int(width), int(inner)
