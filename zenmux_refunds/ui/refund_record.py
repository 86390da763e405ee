"""The customer's refund record on a billing page (issue 11): the Refunds section —
the account's refunds of the page's order kind, paged on the server, newest first —
and one timeline dialog (outside every list: one dialog per row misbehaves, reflex#5970)
opened from a record or from an amount's status tag.

A state mixin, like ``PagedTable``: each billing page's state mixes it in, names its
order kind (``_record_kind``) and calls ``_fill_records`` from its ``_fill``, so the
section reloads whenever the page's rows do (after a refund changes, too). Every
handler resolves the session again; ids arrive as the browser sent them and are
checked before anything is read; a refund that is not the account's shows nothing.
"""

from __future__ import annotations

import logging

import reflex as rx

from zenmux_refunds.services import quotes, refund_record
from zenmux_refunds.i18n import Locale
from zenmux_refunds.services.views import RefundRecordRow, TimelineEvent
from zenmux_refunds.ui.auth_state import SIGN_IN_ROUTE
from zenmux_refunds.ui.components import placeholder
from zenmux_refunds.ui.i18n import t, tf

log = logging.getLogger(__name__)

RECORDS_PAGE_SIZE = 5
MAX_ID = 2**31 - 1  # an INTEGER key on PostgreSQL


def _valid_id(value) -> bool:
    return type(value) is int and 0 < value <= MAX_ID


class RefundRecords(rx.State, mixin=True):
    """Mix into a billing page's state (before ``PagedTable``) that implements
    ``_record_kind()`` and calls ``_fill_records(account_id)`` from its ``_fill``."""

    records: list[RefundRecordRow] = []
    records_page: int = 1
    records_pages: int = 1
    records_total: int = 0
    records_loaded: bool = False
    timeline_open: bool = False
    timeline_row: RefundRecordRow | None = None
    timeline_events: list[TimelineEvent] = []
    # server-only: which refund the open timeline shows
    _timeline_refund_id: int = 0

    def _record_kind(self) -> str:
        raise NotImplementedError

    def _on_load(self) -> None:
        """A fresh page load: first page, no timeline open."""
        self.records_page = 1
        self._hide_timeline()

    def _fill_records(self, account_id: int, locale: Locale | None = None) -> None:
        result = refund_record.refunds_page(account_id, self._record_kind(),
                                            self.records_page, RECORDS_PAGE_SIZE,
                                            locale=locale or self.locale())
        self.records, self.records_total = result.rows, result.total
        self.records_pages, self.records_page = result.pages, result.page
        self.records_loaded = True
        if self.timeline_open and self._timeline_refund_id:
            self._show_timeline(account_id, self._timeline_refund_id)  # its status moved

    def _hide_timeline(self) -> None:
        self.timeline_open, self.timeline_row, self.timeline_events = False, None, []
        self._timeline_refund_id = 0

    def _show_timeline(self, account_id: int, refund_id: int | None) -> None:
        if refund_id is None:
            self._hide_timeline()
            return
        try:
            view = refund_record.timeline(account_id, refund_id, locale=self.locale())
        except quotes.NotYourOrder:
            # nothing of what was asked for goes in the log: only that it was refused
            log.warning("account %s asked for a refund record that is not theirs", account_id)
            self._hide_timeline()
            return
        self.timeline_row, self.timeline_events = view.row, list(view.events)
        self._timeline_refund_id, self.timeline_open = refund_id, True

    def _account_id(self) -> int | None:
        account = self.signed_in_account()
        return None if account is None else account.id

    @rx.event
    def open_record(self, refund_id: int):
        """A record's "Timeline" button: one of the account's refunds."""
        account_id = self._account_id()
        if account_id is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self._show_timeline(account_id, refund_id if _valid_id(refund_id) else None)

    @rx.event
    def open_record_for_order(self, order_id: int):
        """An order's status tag: the latest refund of that order (of the page's kind)."""
        account_id = self._account_id()
        if account_id is None:
            return rx.redirect(SIGN_IN_ROUTE)
        refund_id = (refund_record.refund_of_order(account_id, self._record_kind(), order_id)
                     if _valid_id(order_id) else None)
        self._show_timeline(account_id, refund_id)

    @rx.event
    def open_record_for_line(self, is_order: bool, row_id: int):
        """A Transactions line's status tag: a top-up order's latest refund, or the
        refund behind a wallet movement (only ever one of the account's own)."""
        account_id = self._account_id()
        if account_id is None:
            return rx.redirect(SIGN_IN_ROUTE)
        refund_id = None
        if type(is_order) is bool and _valid_id(row_id):
            refund_id = (refund_record.refund_of_order(account_id, self._record_kind(), row_id)
                         if is_order else refund_record.refund_of_entry(account_id, row_id))
        self._show_timeline(account_id, refund_id)

    @rx.event
    def set_timeline_open(self, value: bool):
        if not value:
            self._hide_timeline()
        # it opens only through the handlers above

    @rx.event
    def records_go_to(self, page: int):
        account_id = self._account_id()
        if account_id is None:
            return rx.redirect(SIGN_IN_ROUTE)
        if type(page) is int:
            self.records_page = max(1, min(page, self.records_pages))
        self._fill_records(account_id)


# ------------------------------------------------------------------ components


def _wrap(*children, **props) -> rx.Component:
    """A line that wraps at phone width instead of pushing the page sideways."""
    props.setdefault("align", "baseline")
    return rx.flex(*children, wrap="wrap", column_gap="1em", row_gap="0.25em", **props)


def _amount(label: str, value: rx.Var[str], key: str, ref: rx.Var[str]) -> rx.Component:
    return rx.flex(
        rx.text(t(label), size="1", color_scheme="gray"),
        rx.text(value, size="2", weight="medium", id=key + "-" + ref),
        direction="column", min_width="7em",
    )


def receipt_link(ref: rx.Var[str], url: rx.Var[str], key: str) -> rx.Component:
    # a plain anchor (not the app's router): the PDF is served by the api
    return rx.link(t("Download credit note (PDF)"), href=url, is_external=True, size="2",
                   id=key + "-" + ref)


def _record(state, row: rx.Var[RefundRecordRow]) -> rx.Component:
    return rx.card(
        rx.flex(
            _wrap(
                rx.text(row.ref, weight="bold"),
                rx.badge(row.tag, color_scheme=row.tag_color, id="record-tag-" + row.ref),
                rx.text(tf("Order {ref}", ref=row.order_ref), size="2", color_scheme="gray"),
                rx.text(tf("Requested {time}", time=row.requested), size="2",
                        color_scheme="gray", id="requested-" + row.ref, title=row.requested_utc),
            ),
            _wrap(
                _amount("Refundable", row.refundable, "refundable", row.ref),
                _amount("Platform fee", row.fee, "fee", row.ref),
                rx.flex(
                    rx.text(row.returned_label, size="1", color_scheme="gray",
                            id="returned-label-" + row.ref),
                    rx.text(row.returned, size="2", weight="bold", id="returned-amount-" + row.ref),
                    rx.cond(row.returned_in_currency != "",
                            rx.text(tf("returned as {amount}", amount=row.returned_in_currency),
                                    size="1",
                                    id="returned-currency-" + row.ref)),
                    direction="column", min_width="7em",
                ),
            ),
            rx.cond(row.arrival != "", rx.text(row.arrival, size="2", id="arrival-" + row.ref)),
            _wrap(
                rx.button(t("View timeline"), size="1", variant="soft",
                          on_click=state.open_record(row.id), id="open-" + row.ref,
                          custom_attrs={"data-opens-dialog": "timeline"}),
                receipt_link(row.ref, row.receipt_url, "receipt"),
                align="center",
            ),
            direction="column", spacing="2", min_width="0",
        ),
        width="100%", id="record-" + row.ref, class_name="refund-record",
        overflow_wrap="anywhere",
    )


def refunds_section(state, kind_words: str) -> rx.Component:
    """The Refunds section of a billing page (``kind_words``: "subscription payments")."""
    return rx.vstack(
        rx.heading(t("Refunds"), size="4"),
        rx.cond(
            state.records_total > 0,
            rx.vstack(
                rx.foreach(state.records, lambda row: _record(state, row)),
                rx.cond(state.records_pages > 1, rx.flex(
                    rx.button(t("Previous"), size="1", variant="soft",
                              disabled=state.records_page <= 1,
                              on_click=state.records_go_to(state.records_page - 1)),
                    rx.text(tf("Page {page} of {pages} · {total} refunds",
                               page=state.records_page, pages=state.records_pages,
                               total=state.records_total), size="2"),
                    rx.button(t("Next"), size="1", variant="soft",
                              disabled=state.records_page >= state.records_pages,
                              on_click=state.records_go_to(state.records_page + 1)),
                    spacing="3", align="center", wrap="wrap", id="records-pager",
                )),
                spacing="2", width="100%",
            ),
            rx.cond(state.records_loaded,
                    rx.text(t(f"No refunds of your {kind_words} yet."), size="2",
                            color_scheme="gray", id="no-refunds"),
                    placeholder("records", height="4em")),
        ),
        timeline_dialog(state),
        spacing="2", width="100%", id="refund-records", min_width="0",
    )


def _event(e: rx.Var[TimelineEvent]) -> rx.Component:
    return rx.el.li(
        rx.text(e.at, size="1", color_scheme="gray", as_="div", title=e.at_utc),
        rx.text(e.text, size="2", as_="div"),
        class_name="timeline-event", custom_attrs={"data-kind": e.kind},
        padding="0 0 0.6em 0.9em", border_left="2px solid var(--gray-a6)",
        overflow_wrap="anywhere",
    )


def timeline_dialog(state) -> rx.Component:
    R = state.timeline_row
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tf("Refund {ref}", ref=R.ref)),
            _wrap(rx.badge(R.tag, color_scheme=R.tag_color, id="timeline-tag"),
                  rx.text(tf("Order {ref}", ref=R.order_ref), size="2"),
                  rx.text(tf("Requested {time}", time=R.requested), size="2",
                          color_scheme="gray", title=R.requested_utc)),
            rx.flex(
                _wrap(
                    _amount("Refundable", R.refundable, "timeline", "refundable"),
                    _amount("Platform fee", R.fee, "timeline", "fee"),
                    rx.flex(
                        rx.text(R.returned_label, size="1", color_scheme="gray"),
                        rx.text(R.returned, size="2", weight="bold", id="timeline-returned"),
                        rx.cond(R.returned_in_currency != "",
                                rx.text(tf("returned as {amount}",
                                           amount=R.returned_in_currency), size="1",
                                        id="timeline-returned-currency")),
                        direction="column", min_width="7em",
                    ),
                ),
                rx.cond(R.arrival != "", rx.text(R.arrival, size="2", id="timeline-arrival")),
                rx.heading(t("Timeline"), size="3"),
                rx.el.ol(rx.foreach(state.timeline_events, _event), id="timeline-events",
                         list_style="none", padding="0", margin="0"),
                _wrap(
                    receipt_link("timeline", R.receipt_url, "receipt"),
                    rx.spacer(),
                    rx.dialog.close(rx.button(t("Close"), variant="soft", id="close-timeline")),
                    align="center", width="100%",
                ),
                direction="column", spacing="3", margin_top="1em",
            ),
            max_width="520px", id="refund-timeline", overflow_wrap="anywhere",
        ),
        open=state.timeline_open,
        on_open_change=state.set_timeline_open,
    )
