"""The refund dialog's step state (ui/refund_dialog.RefundStepState) only holds what the
status step shows: the browser can name no event of its own on it. Reflex makes every
public method of a state an event a browser may send; RefundDialogState's handlers,
which resolve the session first, are the only way to write it."""

from __future__ import annotations

from zenmux_refunds.ui.refund_dialog import RefundStepState


def test_the_step_state_takes_no_event_of_its_own():
    own = set(RefundStepState.event_handlers) - {"setvar"}  # Reflex's, on every state
    assert own == set(), own

