"""Attack tests: each runs against a real production build over HTTP and the
WebSocket, the way an attacker would. A module says how its server is configured with
``SERVER_ENV`` (a dict of environment variables on top of ``tests.support.appserver.
base_env``: demo mode off unless it sets ``ZENMUX_DEMO``). The server is module-scoped,
so only one runs at a time (see ``tests/support/appserver.py``).

Run as its own pytest session with ``-p no:asyncio`` (``scripts/test`` does)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import ARTIFACTS, browser, shot  # noqa: F401 (fixture)
from tests.support import traffic
from tests.support.traffic import pytest_runtest_makereport  # noqa: F401 (hook)
from tests.support.appserver import AppServer, running_app
from tests.support.sockets import Frames, forge_events, inject_events, record_frames  # noqa: F401


# One server at a time, shared by consecutive modules with the same SERVER_ENV (the
# modules are ordered so that those run together): a build takes 10-30 s.
_shared: dict = {"key": None, "manager": None, "server": None}


def release_shared_server() -> None:
    """Stop the shared server (a module that starts a server of its own calls this)."""
    if _shared["manager"] is not None:
        manager = _shared["manager"]
        _shared.update(key=None, manager=None, server=None)
        manager.__exit__(None, None, None)


def _env_key(module) -> str:
    return json.dumps(getattr(module, "SERVER_ENV", {}), sort_keys=True)


def pytest_collection_modifyitems(items):
    """Run the modules that share a server configuration one after another (stable:
    the order of modules, and of tests in a module, is kept within a configuration)."""
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(_env_key(item.module), len(first_seen))
    items.sort(key=lambda item: first_seen[_env_key(item.module)])


@pytest.fixture(scope="session", autouse=True)
def _stop_the_shared_server_at_the_end():
    yield
    release_shared_server()


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> AppServer:
    key = _env_key(request.module)
    if _shared["key"] != key:
        release_shared_server()
        manager = running_app(tmp_path_factory.mktemp("secure-app"),
                              getattr(request.module, "SERVER_ENV", {}))
        _shared.update(server=manager.__enter__(), manager=manager, key=key)
    return _shared["server"]


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
def page(context, request) -> Page:
    pg = context.new_page()
    traffic.record(pg, request.node)
    return pg


ROOT_STATE = "reflex___state____state"
AUTH_STATE = "zenmux_refunds___ui___auth_state____auth_state"


def event_name(module: str, state: str, handler: str) -> str:
    """The wire name of ``handler`` on a state below AuthState, e.g.
    ``event_name("layout", "demo_state", "advance")``."""
    return f"{ROOT_STATE}.{AUTH_STATE}.zenmux_refunds___ui___{module}____{state}.{handler}"


def sign_in_with_password(page: Page, email: str, password: str) -> None:
    """The sign-in form, as a customer fills it in."""
    page.goto("/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def forged_once(page: Page, target_suffix: str, make) -> list[str]:
    """Rewrite the first event whose name ends with ``target_suffix`` into
    ``make(name) -> (name, payload)``; later events pass unchanged."""
    done: list[str] = []

    def rewrite(name, payload):
        if not done and name.endswith(target_suffix):
            new = make(name)
            done.append(new[0])
            return new
        return None

    forge_events(page, rewrite)
    return done


def wait_for(predicate, timeout_s: float = 10.0, page: Page | None = None) -> bool:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)
    return predicate()
