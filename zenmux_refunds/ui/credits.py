"""Credits Management: balances with their breakdown, referral rewards, and the
Transactions list (server-paginated, newest first) with Refund on top-up rows and, on a
refund's line, what was returned; then the Refunds section (``ui/refund_record.py``)."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.domain.vocabulary import OrderKind
from zenmux_refunds.services import credits
from zenmux_refunds.services.views import Balances, RewardRow, TransactionRow
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
from zenmux_refunds.ui.i18n import t, tf
from zenmux_refunds.ui import live
from zenmux_refunds.ui.layout import page
from zenmux_refunds.ui.paged import PagedTable
from zenmux_refunds.ui.refund_dialog import refund_dialog, reload_rows_after_refund
from zenmux_refunds.ui.refund_record import RefundRecords, refunds_section

PAGE_SIZE = 20


class CreditsState(RefundRecords, PagedTable, AuthState):
    balances: Balances | None = None  # None until the page has loaded
    breakdown: list[tuple[str, str]] = []  # (label, signed amount)
    rewards: list[RewardRow] = []
    rows: list[TransactionRow] = []
    waiting: bool = False  # something shown awaits the background pass (ui/live.py)

    def _fill(self, account_id: int) -> None:
        locale = self.locale()
        view = credits.balances(account_id, locale=locale)
        self.balances, self.breakdown = view.balances, list(view.breakdown)
        self.rewards = credits.referral_rewards(account_id, locale=locale)
        self._show(credits.transactions(account_id, self.page, PAGE_SIZE, locale=locale))
        self._fill_records(account_id, locale)
        self.waiting = live.waits_for_background(rows=self.rows, records=self.records,
                                                 rewards=self.rewards)

    def _record_kind(self) -> str:
        return OrderKind.TOPUP


reload_rows_after_refund(OrderKind.TOPUP, CreditsState.load_rows)


def _balance(label: str, key: str, value: rx.Var[str]) -> rx.Component:
    return rx.card(
        rx.text(t(label), size="2", color_scheme="gray"),
        rx.cond(CreditsState.loaded, rx.text(value, size="6", weight="bold", id=f"balance-{key}",
                                             white_space="nowrap"),
                placeholder(f"balance-{key}", height="2em", width="7em")),
        flex="1 1 10rem",
    )


def _breakdown() -> rx.Component:
    return rx.card(
        rx.text(t("Breakdown"), weight="bold", size="2"),
        rx.cond(~CreditsState.loaded, placeholder("breakdown", height="3.5em")),
        rx.grid(
            rx.foreach(CreditsState.breakdown, lambda item: rx.hstack(
                rx.text(item[0], size="2", color_scheme="gray"),
                rx.text(item[1], size="2"), justify="between", width="100%")),
            columns=rx.breakpoints(initial="1", sm="2", md="3"), spacing_x="6", spacing_y="1",
            width="100%",
        ),
        width="100%",
    )


def _rewards() -> rx.Component:
    return rx.cond(
        CreditsState.rewards.length() > 0,
        rx.card(
            rx.text(t("Referral rewards you earn"), weight="bold", size="2"),
            rx.foreach(CreditsState.rewards, lambda r: rx.flex(
                rx.text(r.amount, weight="medium"),
                rx.badge(r.status, color_scheme=r.color),
                rx.text(r.description, size="2"),
                rx.cond(r.pending,
                        rx.text(tf("granted once the window closes at {time}",
                                   time=rx.text.span(r.due, title=r.due_utc)), size="1",
                                color_scheme="gray")),
                spacing="3", align="center", wrap="wrap", class_name="referral-reward")),
            width="100%", id="referral-rewards",
        ),
    )


TRANSACTION_COLUMNS = ("Date", "Reference", "Amount", "Type / method", "Description",
                       Quiet("Refund"))


def _row(row: rx.Var[TransactionRow]) -> rx.Component:
    return rx.table.row(
        *labelled_cells(
            TRANSACTION_COLUMNS, rx.text(row.date, title=row.date_utc, as_="span"), row.ref,
            rx.vstack(
                amount_cell(row, CreditsState.open_record_for_line(row.is_order, row.id)),
                # a refund's line: what came back beside what the wallet lost
                rx.cond(row.returned != "",
                        rx.text(row.returned, size="1", color_scheme="gray",
                                id="returned-" + row.ref)),
                spacing="1"),
            row.type, row.description,
            rx.cond(row.is_order, refund_cell(OrderKind.TOPUP, row), rx.fragment())),
        id="tx-" + row.key,
        class_name=rx.cond(row.is_order, "tx-order", "tx-entry"),
    )


def credits_page() -> rx.Component:
    return page(
        rx.heading(t("Credits Management"), size="6"),
        rx.flex(
            _balance("Total Balance", "total", CreditsState.balances.total),
            _balance("Top-Up Credits", "topup", CreditsState.balances.topup),
            _balance("Bonus & Compensation Credits", "bonus", CreditsState.balances.bonus),
            spacing="4", width="100%", wrap="wrap",
        ),
        _breakdown(),
        _rewards(),
        rx.heading(t("Transactions"), size="4"),
        list_or_empty(
            CreditsState,
            stacked_table(TRANSACTION_COLUMNS, rx.foreach(CreditsState.rows, _row)),
            empty_list("no-topups", "No top-ups yet.", "See plans and pricing on zenmux.ai"),
            "transactions",
        ),
        refunds_section(CreditsState, "top-ups"),
        refund_dialog(),
        live.refresher(CreditsState.waiting, CreditsState.load_rows),
    )
