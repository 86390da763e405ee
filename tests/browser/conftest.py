"""Browser-test fixtures: one production build of the app per test session, on its own
port and its own SQLite database, with the clock frozen at the example's instant; one
Chromium (Debian's) driven by Playwright; a fresh browser context per test; screenshots
kept under test-artifacts/.

Run apart from the async tests (``scripts/test`` does): Playwright's sync API and
pytest-asyncio's loop do not mix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.support import traffic
from tests.support.traffic import pytest_runtest_makereport  # noqa: F401 (hook)

from tests.support.appserver import (  # noqa: F401
    EXAMPLE_NOW, USAGE_TOKEN, AppServer, production_shape, running_app)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# the production shape's pass runs beside the SQLite one: its screenshots go elsewhere
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / (
    "screenshots-production" if production_shape() else "screenshots")
CHROMIUM = os.environ.get("ZENMUX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# An expectation waits up to 10 s (Playwright's default is 5): .ci/run runs three suites
# side by side on two cores, one of them three app workers with PostgreSQL and Redis,
# and a page that answers in 6 s there is slow, not wrong. Speed is the benchmarks'.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The demo build every browser test shares (demo mode on: the tests sign in as
    personas), reloaded with the example scenario before each test."""
    with running_app(tmp_path_factory.mktemp("app"), {
        "ZENMUX_DEMO": "1",
        "ZENMUX_BUSINESS_EMAIL": "business@zenmux.example",
    }) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_server, request) -> Page:
    app_server.load_scenario("example")
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=app_server.base_url)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    traffic.record(pg, request.node)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    except Exception:  # noqa: BLE001 - a screenshot must not hide the test's own result
        pass
    context.close()


def shot(page: Page, name: str) -> Path:
    """Keep a screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def live(locator: Locator) -> Locator:
    """``locator`` once React has taken it over. The pages are built ahead: a button
    shows before the page's scripts attach its handler, and a click in that instant
    does nothing (a customer would click again). Seen in CI: the language switch
    clicked right after ``goto``, and no event ever sent."""
    locator.page.wait_for_function(
        "el => Object.keys(el).some(k => k.startsWith('__reactProps'))",
        arg=locator.element_handle())
    return locator


HOME_AFTER_SIGN_IN = re.compile(r".*/(subscription|support)/?$")


def sign_in_as(page: Page, persona: str) -> None:
    """One-click demo sign-in, then wait for the signed-in header (customers land on
    Subscription Management, support on the console)."""
    page.goto("/sign-in")
    page.locator(f"#persona-{persona}").click()
    page.wait_for_url(HOME_AFTER_SIGN_IN)
    expect(page.locator("#account-name")).not_to_have_text("")


def check_page(page: Page, name: str, failures: list[str],
               also_at: tuple[int, ...] = ()) -> None:
    """Collect what is wrong with the page as it is now (so that one run lists every
    page): a sideways scroll, and axe-core's critical and serious violations; keep its
    screenshot as ``{name}-{width}``. ``also_at``: other widths the same page is looked
    at (no reload): its sideways scroll checked and its screenshot kept there too."""
    from tests.support import axe

    page.wait_for_timeout(300)  # fonts and layout settle
    scroll, inner = axe.scroll_width(page)
    if scroll > inner:
        failures.append(f"{name}@{inner}: scrolls sideways ({scroll} > {inner})")
    for v in axe.blocking(page):
        failures.append(f"{name}@{inner}: axe {v['impact']} {v['id']} ({v['help']}) "
                        f"at {v['nodes']}")
    shot(page, f"{name}-{inner}")
    if also_at:
        size = page.viewport_size
        for width in also_at:
            page.set_viewport_size({"width": width, "height": size["height"]})
            page.wait_for_timeout(300)
            scroll, inner = axe.scroll_width(page)
            if scroll > inner:
                failures.append(f"{name}@{inner}: scrolls sideways ({scroll} > {inner})")
            shot(page, f"{name}-{inner}")
        page.set_viewport_size(size)
