"""Finding 8: an event sent to an unknown handler was logged with its whole payload
(one carried a password). Event payloads are never logged."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.security.conftest import inject_events, wait_for

SERVER_ENV: dict[str, str] = {}
SECRET = "hunter2-do-not-log-me"


def test_an_unknown_handlers_payload_is_not_logged(page: Page, server):
    sent = inject_events(page, [
        ("reflex___state____state.no_such_state.no_such_handler", {"password": SECRET}),
        ("reflex___state____state.zenmux_refunds___ui___auth_state____auth_state.nope",
         {"form_data": {"email": "a@b.c", "password": SECRET}}),
    ])
    page.goto("/sign-in")
    assert wait_for(lambda: len(sent) == 2, page=page)
    # the server did see them (control): it logs that it could not route an event
    assert wait_for(lambda: "no_such_handler" in server.log_text(), timeout_s=10)
    page.wait_for_timeout(500)
    assert SECRET not in server.log_text()
