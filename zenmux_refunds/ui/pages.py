"""Signed-in pages. Subscription and Credits Management grow their billing history,
transactions and refund dialog in their own modules; this file registers routes."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.ui.layout import page


def support_page() -> rx.Component:
    return page(
        rx.heading("Support console", size="6"),
        rx.text("Support agents only; the role is checked on the server."),
    )
