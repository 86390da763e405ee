"""SessionGuard's resolution of the session answers the same event's first session
check only (ui/auth_state.py): a second check reads the session again, and a token
other than the one the guard resolved is never answered from it."""

from __future__ import annotations

import contextvars

from zenmux_refunds.ui import auth_state


def _in_one_event(fn) -> None:
    contextvars.copy_context().run(fn)  # each event runs in a task, a context, of its own


def test_the_first_check_of_the_same_token_takes_it_and_a_second_reads_again():
    def event():
        auth_state.guard_resolved("token-a", ("account", "locale"))
        assert auth_state._take_guard_resolved("token-a") == (True, ("account", "locale"))
        assert auth_state._take_guard_resolved("token-a") == (False, None)
    _in_one_event(event)


def test_a_signed_out_resolution_is_taken_as_signed_out():
    def event():
        auth_state.guard_resolved("token-a", None)
        assert auth_state._take_guard_resolved("token-a") == (True, None)
    _in_one_event(event)


def test_another_token_is_not_answered_and_the_resolution_is_dropped():
    def event():
        auth_state.guard_resolved("token-a", ("account", "locale"))
        assert auth_state._take_guard_resolved("token-b") == (False, None)
        assert auth_state._take_guard_resolved("token-a") == (False, None)
    _in_one_event(event)


def test_another_events_resolution_is_not_seen():
    taken = []
    _in_one_event(lambda: auth_state.guard_resolved("token-a", ("account", "locale")))
    _in_one_event(lambda: taken.append(auth_state._take_guard_resolved("token-a")))
    assert taken == [(False, None)]
