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
    Quiet,
    amount_cell,
    empty_list,
    labelled_cells,
    list_or_empty,
    placeholder,
    refund_cell,
    stacked_table,
)
from zenmux_refunds.ui.i18n import t
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
        locale = self.locale()
        self.plan = billing.plan_card(account_id, locale=locale)
        self._show(billing.subscription_history(account_id, self.page, PAGE_SIZE,
                                                locale=locale))
        self._fill_records(account_id, locale)
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
        rx.flex(
            rx.vstack(
                rx.text(t("Current plan"), size="2", color_scheme="gray"),
                rx.heading(P.plan, size="7", id="current-plan"),
                rx.text(P.price, color_scheme="gray"),
                spacing="1",
            ),
            rx.vstack(
                rx.text(t("Billing cycle"), size="2", color_scheme="gray"),
                rx.text(P.cycle, id="plan-cycle", title=P.cycle_utc),
                rx.text(t("Usage this cycle"), size="2", color_scheme="gray"),
                rx.text(P.usage, id="plan-usage"),
                spacing="1",
            ),
            spacing="6", wrap="wrap",
        ),
        width="100%",
    )


HISTORY_COLUMNS = ("Date", "Order", "Plan", "Amount", "Payment method", "Payment status",
                   Quiet("Refund"))


def _history_row(row: rx.Var[HistoryRow]) -> rx.Component:
    return rx.table.row(
        *labelled_cells(
            HISTORY_COLUMNS, rx.text(row.date, title=row.date_utc, as_="span"), row.ref, row.plan,
            amount_cell(row, SubscriptionState.open_record_for_order(row.id)),
            row.method, row.status, refund_cell(OrderKind.SUBSCRIPTION, row)),
        id="row-" + row.ref,
    )


def subscription_page() -> rx.Component:
    return page(
        rx.heading(t("Subscription Management"), size="6"),
        _plan_card(),
        rx.heading(t("Billing History"), size="4"),
        list_or_empty(
            SubscriptionState,
            stacked_table(HISTORY_COLUMNS, rx.foreach(SubscriptionState.rows, _history_row)),
            empty_list("no-payments", "No subscription payments yet.",
                       "See the plans on zenmux.ai"),
            "history",
        ),
        refunds_section(SubscriptionState, "subscription payments"),
        refund_dialog(),
        live.refresher(SubscriptionState.waiting, SubscriptionState.load_rows),
    )
