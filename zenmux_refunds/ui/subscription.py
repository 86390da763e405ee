"""Subscription Management: the current plan card and the Billing History, paginated on
the server, newest first, each row with its Refund button and refund status tag (which
opens the refund's timeline); then the Refunds section (``ui/refund_record.py``)."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.domain.vocabulary import OrderKind
from zenmux_refunds.services import billing
from zenmux_refunds.services.views import HistoryRow, PlanCard
from zenmux_refunds.ui.auth_state import AuthState
from zenmux_refunds.ui.components import (
    amount_cell,
    empty_list,
    list_or_empty,
    placeholder,
    refund_cell,
)
from zenmux_refunds.ui import live
from zenmux_refunds.ui.layout import page
from zenmux_refunds.ui.paged import PagedTable
from zenmux_refunds.ui.refund_dialog import refund_dialog, reload_rows_after_refund
from zenmux_refunds.ui.refund_record import RefundRecords, refunds_section

PAGE_SIZE = 10


class SubscriptionState(RefundRecords, PagedTable, AuthState):
    plan: PlanCard | None = None  # None until the page has loaded
    rows: list[HistoryRow] = []
    waiting: bool = False  # something shown awaits the background pass (ui/live.py)

    def _fill(self, account_id: int) -> None:
        self.plan = billing.plan_card(account_id)
        self._show(billing.subscription_history(account_id, self.page, PAGE_SIZE))
        self._fill_records(account_id)
        self.waiting = live.waits_for_background(rows=self.rows, records=self.records)

    def _record_kind(self) -> str:
        return OrderKind.SUBSCRIPTION


reload_rows_after_refund(OrderKind.SUBSCRIPTION, SubscriptionState.load_rows)


def _plan_card() -> rx.Component:
    return rx.cond(SubscriptionState.loaded, _loaded_plan_card(), rx.card(
        rx.vstack(placeholder("plan", height="1em", width="8em"),
                  placeholder("plan-name", height="2.25em", width="12em"),
                  placeholder("plan-cycle", height="1em", width="20em"), spacing="2"),
        width="100%"))


def _loaded_plan_card() -> rx.Component:
    P = SubscriptionState.plan
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text("Current plan", size="2", color_scheme="gray"),
                rx.heading(P.plan, size="7", id="current-plan"),
                rx.text(P.price, color_scheme="gray"),
                spacing="1",
            ),
            rx.vstack(
                rx.text("Billing cycle", size="2", color_scheme="gray"),
                rx.text(P.cycle, id="plan-cycle"),
                rx.text("Usage this cycle", size="2", color_scheme="gray"),
                rx.text(P.usage, id="plan-usage"),
                spacing="1",
            ),
            spacing="9",
        ),
        width="100%",
    )


def _history_row(row: rx.Var[HistoryRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.date),
        rx.table.cell(row.ref),
        rx.table.cell(row.plan),
        rx.table.cell(amount_cell(row, SubscriptionState.open_record_for_order(row.id))),
        rx.table.cell(row.method),
        rx.table.cell(row.status),
        rx.table.cell(refund_cell(OrderKind.SUBSCRIPTION, row)),
        id="row-" + row.ref,
    )


def subscription_page() -> rx.Component:
    return page(
        rx.heading("Subscription Management", size="6"),
        _plan_card(),
        rx.heading("Billing History", size="4"),
        list_or_empty(
            SubscriptionState,
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                    "Date", "Order", "Plan", "Amount", "Payment method", "Payment status",
                    "")])),
                rx.table.body(rx.foreach(SubscriptionState.rows, _history_row)),
                width="100%", variant="surface",
            ),
            empty_list("no-payments", "No subscription payments yet.",
                       "See the plans on zenmux.ai"),
            "history",
        ),
        refunds_section(SubscriptionState, "subscription payments"),
        refund_dialog(),
        live.refresher(SubscriptionState.waiting, SubscriptionState.load_rows),
    )
