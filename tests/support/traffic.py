"""What a page's event sockets carried and what its console said, with the time since
the page opened, reported by a failing browser test: a page that never got its data in
CI then says whether the event was sent, answered late, or never answered."""

from __future__ import annotations

import itertools
import time

import pytest

TRAFFIC = pytest.StashKey[list]()
SECTION = "the page's sockets and console (last 120 lines)"


def record(page, node) -> None:
    """Keep ``page``'s traffic on the test ``node`` (see ``pytest_runtest_makereport``)."""
    t0 = time.monotonic()
    log: list[str] = node.stash.setdefault(TRAFFIC, [])
    numbers = itertools.count()

    def note(line: str) -> None:
        log.append(f"{time.monotonic() - t0:7.2f}s {line}")

    def socket(ws) -> None:
        n = next(numbers)
        note(f"socket {n} opened {ws.url[:100]}")
        ws.on("framesent", lambda f: note(f"socket {n} sent {str(f)[:160]!r}"))
        ws.on("framereceived", lambda f: note(f"socket {n} received {str(f)[:160]!r}"))
        ws.on("close", lambda _ws: note(f"socket {n} closed"))

    page.on("websocket", socket)
    page.on("console", lambda m: note(f"console {m.type}: {m.text[:200]}"))
    page.on("framenavigated",
            lambda f: note(f"navigated {f.url}") if f == page.main_frame else None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report gets its pages' traffic. The browser and the attack
    suites' conftests import this hook (``record`` keeps the traffic)."""
    report = (yield).get_result()
    log = item.stash.get(TRAFFIC, None)
    if report.failed and log:
        report.sections.append((SECTION, "\n".join(log[-120:])))
