"""Pieces both billing pages use: the Refund button cell, the amount with its refund
status tag, the pager, the loading placeholders and the empty-list message."""

from __future__ import annotations

import reflex as rx

from collections.abc import Sequence

from zenmux_refunds.domain.vocabulary import OrderKind
from zenmux_refunds.services.views import HistoryRow, TransactionRow
from zenmux_refunds.ui.i18n import t, tf, tv
from zenmux_refunds.ui.refund_dialog import RefundDialogState

EMAIL_REQUEST_ROUTE = "/request"
# There is no plans page in this app: an empty history links to the public pricing page.
PRICING_URL = "https://zenmux.ai/pricing"


class Quiet(str):
    """A column whose header is for assistive technology only (the Refund buttons' column:
    each button says what it is), and whose cells carry no label when stacked."""


def _words(text: str, translate: bool):
    return t(text) if translate else text


def stacked_table(columns: Sequence[str], *body: rx.Component, translate: bool = True,
                  **props) -> rx.Component:
    """A table that becomes stacked cards below 700px (``assets/zenmux.css``): each row a
    card, each cell labelled with its column. Build its cells with ``labelled_cells``.
    ``translate=False``: staff pages (the support console), English only."""
    return rx.table.root(
        rx.table.header(rx.table.row(*[
            rx.table.column_header_cell(
                rx.el.span(_words(c, translate), class_name="visually-hidden")
                if isinstance(c, Quiet) else _words(c, translate))
            for c in columns])),
        rx.table.body(*body),
        width="100%", variant="surface", class_name="stack-table", **props)


def labelled_cells(columns: Sequence[str], *contents,
                   translate: bool = True) -> list[rx.Component]:
    """A row's cells, each with its column's name for the stacked layout."""
    assert len(columns) == len(contents), "one cell per column"
    return [rx.table.cell(content) if isinstance(label, Quiet)
            else rx.table.cell(content,
                               custom_attrs={"data-label": _words(label, translate)})
            for label, content in zip(columns, contents)]


def refund_cell(kind: OrderKind, row: rx.Var[HistoryRow] | rx.Var[TransactionRow]
                ) -> rx.Component:
    """The Refund button of a row: enabled, or disabled with its reason shown and tied
    to it (``aria-describedby``); a gift also has the tooltip. A disabled button stays
    focusable (``aria-disabled``, no click handler): the keyboard can still reach it
    and read why, and the focus can return to it when its refund's dialog closes."""
    # what describes a disabled button: its reason as shown, or (shown as a short tag)
    # the reason in full, for assistive technology only
    why_id = "why-" + row.ref
    described_by = rx.cond(row.reason_tag != "", why_id, "reason-" + row.ref)
    button = rx.cond(
        row.can_refund,
        rx.button(t("Refund"), size="1", variant="outline",
                  on_click=RefundDialogState.open_for(kind.value, row.id),
                  id="refund-" + row.ref, custom_attrs={"data-opens-dialog": "refund"}),
        rx.button(t("Refund"), size="1", variant="outline", type="button",
                  id="refund-" + row.ref,
                  custom_attrs={"aria-disabled": "true", "data-disabled": "",
                                "aria-describedby": described_by}),
    )
    return rx.vstack(
        rx.cond(row.gift,
                rx.tooltip(rx.box(button, display="inline-block"),
                           content=t("Gift subscriptions are not eligible for refunds")),
                button),
        # the reason, or (an older expired row: the service says so) one muted tag that
        # keeps the reason in its title
        rx.cond(row.can_refund, rx.fragment(),
                rx.cond(row.reason_tag != "",
                        rx.badge(row.reason_tag, size="1", color_scheme="gray",
                                 variant="soft", id="reason-" + row.ref,
                                 class_name="reason-tag",
                                 custom_attrs={"title": row.reason}),
                        rx.text(row.reason, size="1", color_scheme="gray",
                                id="reason-" + row.ref))),
        rx.cond(~row.can_refund & (row.reason_tag != ""),
                rx.el.span(row.reason, id=why_id, class_name="visually-hidden")),
        rx.cond(row.email_link,
                rx.link(t("Request by email"), href=EMAIL_REQUEST_ROUTE, size="1")),
        spacing="1",
        align="start",
    )


def amount_cell(row: rx.Var[HistoryRow] | rx.Var[TransactionRow],
                on_tag_click=None) -> rx.Component:
    """The amount and its refund status tag; ``on_tag_click`` makes the tag a button
    (it opens the refund's timeline)."""
    tag = rx.badge(row.tag, color_scheme=row.tag_color, id="tag-" + row.ref)
    if on_tag_click is not None:
        tag = rx.el.button(tag, on_click=on_tag_click, type="button", id="open-tag-" + row.ref,
                           custom_attrs={"data-opens-dialog": "timeline"},
                           title=t("Show this refund's timeline"),
                           aria_label=tv("{status}: show this refund's timeline", status=row.tag),
                           background="none", border="none", padding="0",
                           cursor="pointer", line_height="0")
    return rx.hstack(
        rx.text(row.amount),
        rx.cond(row.tag != "", tag),
        spacing="2", align="center",
    )


def placeholder(key: str, height: str = "1.5em", width: str = "100%") -> rx.Component:
    """What stands in for a value until the page's first load has finished (Radix
    Skeleton), marked busy for assistive technology."""
    return rx.box(rx.skeleton(height=height, width=width, loading=True),
                  id="skeleton-" + key, class_name="loading-skeleton", width=width,
                  custom_attrs={"aria-busy": "true"})


def table_placeholder(key: str, rows: int = 3) -> rx.Component:
    return rx.vstack(*[placeholder(f"{key}-{n}", height="2.25em") for n in range(rows)],
                     spacing="2", width="100%", id="skeleton-" + key,
                     custom_attrs={"aria-busy": "true"})


def empty_list(key: str, words: str, link_words: str) -> rx.Component:
    """A list with nothing in it says so, and where to go next (the pricing page)."""
    return rx.card(
        rx.flex(
            rx.text(t(words), id=key, weight="medium"),
            rx.link(t(link_words), href=PRICING_URL, is_external=True, size="2",
                    id=key + "-pricing"),
            direction="column", spacing="1",
        ),
        width="100%", variant="surface",
    )


def list_or_empty(state, table: rx.Component, empty: rx.Component,
                  key: str) -> rx.Component:
    """A paged table once the first load has finished: placeholders before, the empty
    message when there is nothing, else the table and its pager."""
    return rx.cond(
        state.loaded,
        rx.cond(state.total > 0, rx.vstack(table, pager(state), spacing="3", width="100%"),
                empty),
        table_placeholder(key),
    )


def pager(state) -> rx.Component:
    return rx.hstack(
        rx.button(t("Previous"), size="1", variant="soft", disabled=state.page <= 1,
                  on_click=state.go_to(state.page - 1)),
        rx.text(tf("Page {page} of {pages} · {total} rows", page=state.page, pages=state.pages,
                   total=state.total), size="2"),
        rx.button(t("Next"), size="1", variant="soft", disabled=state.page >= state.pages,
                  on_click=state.go_to(state.page + 1)),
        spacing="3", align="center",
    )
