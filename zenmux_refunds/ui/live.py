"""Pages that show what the background pass changes (a refund settling, a referral
reward granted when its window closes) update by themselves: while the page shows
something still waiting for it, a hidden button that ``assets/countdown.js`` clicks
every REFRESH_MS (only while the tab is visible) re-reads the page's data. No server
loop: nothing runs for a tab that is gone, and nothing polls once nothing waits."""

from __future__ import annotations

from collections.abc import Iterable

import reflex as rx

REFRESH_MS = 3000


def waits_for_background(*, rows: Iterable = (), records: Iterable = (),
                         rewards: Iterable = ()) -> bool:
    """Whether anything shown may still be changed by the background pass: a row or
    record whose refund is Refunding (``waiting``, set from the refund's status, not
    from its translated tag), or a referral reward still pending."""
    return (any(r.waiting for r in (*rows, *records))
            or any(r.pending for r in rewards))


def refresher(waiting: rx.Var[bool], on_tick) -> rx.Component:
    """The hidden button countdown.js clicks while ``waiting`` (the page's state var)."""
    return rx.cond(waiting, rx.el.button(
        on_click=on_tick, id="page-refresh-poll", type="button", tab_index=-1,
        aria_hidden="true", display="none",
        custom_attrs={"data-poll-every-ms": str(REFRESH_MS)}))
