"""Support console (support role only, checked on the server by every handler and again
by every console service): refunds by status with their audit trail and actions,
e-mail requests with their review due dates, and the Sandbox provider's controls."""

from __future__ import annotations

import logging

import reflex as rx

from zenmux_refunds.domain.vocabulary import RequestStatus
from zenmux_refunds.services import auth, console, quotes, refunds, requests
from zenmux_refunds.services.views import AuditLine, ConsoleRefundRow, RequestRow
from zenmux_refunds.ui.auth_state import AuthState
from zenmux_refunds.ui.components import Quiet, labelled_cells, pager, stacked_table
from zenmux_refunds.ui.layout import page

log = logging.getLogger(__name__)
PAGE_SIZE = 15


class SupportState(AuthState):
    status_filter: str = "all"
    refunds: list[ConsoleRefundRow] = []
    has_attention: bool = False  # a listed refund needs attention: show "Mark resolved"
    page: int = 1
    pages: int = 1
    total: int = 0
    request_filter: str = RequestStatus.PENDING.value
    requests_rows: list[RequestRow] = []
    trail_ref: str = ""
    trail: list[AuditLine] = []
    message: str = ""
    message_color: str = "green"
    # the confirmation an action opens (console.check): who, which order, the amounts
    check_open: bool = False
    check_title: str = ""
    check_customer: str = ""
    check_order: str = ""
    check_lines: list[tuple[str, str]] = []
    check_note: str = ""
    check_confirm_label: str = ""
    check_needs_reason: bool = False
    _check_action: str = ""
    _check_target: int = 0

    def _agent_id(self) -> int | None:
        """The signed-in support agent's id, or None (a customer's event does nothing)."""
        try:
            return auth.require_role(self.session_token(), auth.SUPPORT).id
        except PermissionError:
            return None

    def _fill(self, agent_id: int) -> None:
        result = console.list_refunds(agent_id, status=self.status_filter, page=self.page,
                                      page_size=PAGE_SIZE)
        self.refunds, self.total, self.pages, self.page = (result.rows, result.total,
                                                           result.pages, result.page)
        self.has_attention = any(row.needs_attention for row in result.rows)
        self.requests_rows = requests.list_for_support(agent_id, status=self.request_filter,
                                                       page_size=50).rows

    def _say(self, text: str, ok: bool = True) -> None:
        self.message, self.message_color = text, "green" if ok else "red"

    @rx.event
    def load(self):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        if account.role != "support":
            log.warning("customer %s opened the support console", account.email)
            return rx.redirect("/subscription")
        self.message, self.trail, self.trail_ref = "", [], ""
        self._fill(account.id)

    @rx.event
    def refresh(self):
        agent = self._agent_id()
        if agent is not None:
            self._fill(agent)

    @rx.event
    def set_status_filter(self, value: str):
        agent = self._agent_id()
        if agent is None:
            return
        self.status_filter = value if value in console.STATUSES else "all"
        self.page = 1
        self._fill(agent)

    @rx.event
    def set_request_filter(self, value: str):
        agent = self._agent_id()
        if agent is None:
            return
        self.request_filter = (value if value in requests.REQUEST_FILTERS
                               else RequestStatus.PENDING.value)
        self._fill(agent)

    @rx.event
    def go_to(self, page: int):
        agent = self._agent_id()
        if agent is None:
            return
        self.page = max(1, min(int(page), self.pages))
        self._fill(agent)

    def _act(self, action, *args, done: str):
        agent = self._agent_id()
        if agent is None:
            return
        try:
            result = action(agent, *args)
        except (refunds.RefundRefused, requests.RequestError, quotes.NotYourOrder,
                LookupError, ValueError, PermissionError) as exc:
            self._say(str(exc), ok=False)
        else:
            self._say(done.format(result=result))
        self._fill(agent)

    @rx.event
    def ask(self, action: str, target_id: int):
        """Open the confirmation of an action, with the amounts it moves."""
        agent = self._agent_id()
        if agent is None:
            return
        try:
            found = console.check(agent, str(action), int(target_id))
        except (LookupError, ValueError, PermissionError, quotes.NotYourOrder) as exc:
            self._say(str(exc), ok=False)
            return
        self.check_title, self.check_customer, self.check_order = (
            found.title, found.customer, found.order)
        self.check_lines, self.check_note = list(found.lines), found.note
        self.check_confirm_label, self.check_needs_reason = (found.confirm_label,
                                                             found.needs_reason)
        self._check_action, self._check_target = found.action, found.target_id
        self.check_open = True

    @rx.event
    def close_check(self):
        self.check_open, self._check_action, self._check_target = False, "", 0

    @rx.event
    def check_open_changed(self, is_open: bool):
        if not is_open:
            self.check_open, self._check_action, self._check_target = False, "", 0

    @rx.event
    def confirm_checked(self, form: dict):
        """Support confirmed what the dialog showed: the action runs (and re-checks
        everything under its lock)."""
        action, target = self._check_action, self._check_target
        self.check_open, self._check_action, self._check_target = False, "", 0
        self._run(action, target, str(form.get("reason", "")))

    def _run(self, action: str, target: int, reason: str = "") -> None:
        if action == "deny":
            self._act(requests.deny, target, reason, done="Request denied.")
        elif action in _CHECKED:
            run, done = _CHECKED[action]
            self._act(run, target, done=done)

    @rx.event
    def show_trail(self, refund_id: int, refund_ref: str):
        agent = self._agent_id()
        if agent is None:
            return
        self.trail = console.audit_trail(agent, int(refund_id))
        self.trail_ref = str(refund_ref)

    # The actions themselves, as events a support client may also send directly (the
    # console's buttons go through ``ask`` and ``confirm_checked`` first). Each checks
    # the role on the server; the service re-checks it and everything else.
    @rx.event
    def retry(self, refund_id: int):
        self._run("retry", int(refund_id))

    @rx.event
    def cancel(self, refund_id: int):
        self._run("cancel", int(refund_id))

    @rx.event
    def resolve_attention(self, form: dict):
        try:
            refund_id = int(form.get("refund_id", ""))
        except (TypeError, ValueError):
            self._say("Choose a refund to mark resolved.", ok=False)
            return
        self._act(console.resolve_attention, refund_id, str(form.get("note", "")),
                  str(form.get("finding", "paid")),
                  done="Marked resolved ({result}); the note is in its audit trail.")

    @rx.event
    def sandbox(self, form: dict):
        outcome = str(form.get("outcome", "fail"))
        self._act(console.set_sandbox_outcome, str(form.get("order_ref", "")), outcome,
                  done=f"The Sandbox will {outcome} refunds of that {{result}} order.")


# what Confirm runs for each confirmed action (deny also takes the reason)
_CHECKED = {
    "approve": (requests.approve, "Approved: refund {result}."),
    "cancel": (console.cancel, "Refund {result}."),
    "payout": (console.record_payout, "Payout recorded: {result}."),
    "retry": (console.retry, "Retried as {result}."),
}


REFUND_COLUMNS = ("Refund", "Account", "Order", "Amount", "Status", "Source", "Requested",
                  Quiet("Actions"))
REQUEST_COLUMNS = ("Request", "Account", "Purchase", "Order", "Reason", "Review due", "Status",
                   Quiet("Actions"))


def _refund_row(r: rx.Var[ConsoleRefundRow]) -> rx.Component:
    S = SupportState
    return rx.table.row(*labelled_cells(
        REFUND_COLUMNS, r.ref, r.account, r.order, r.final,
        rx.badge(r.status, color_scheme=r.color), r.source, r.requested,
        rx.flex(
            rx.button("Audit trail", size="1", variant="soft",
                      on_click=S.show_trail(r.id, r.ref), id="trail-" + r.ref),
            rx.cond(r.can_retry, rx.button("Retry", size="1", on_click=S.ask("retry", r.id),
                                           id="retry-" + r.ref)),
            rx.cond(r.can_cancel, rx.button("Cancel", size="1", color_scheme="red",
                                            on_click=S.ask("cancel", r.id),
                                            id="cancel-" + r.ref)),
            rx.cond(r.can_pay_out, rx.button("Record payout", size="1", color_scheme="green",
                                             on_click=S.ask("payout", r.id),
                                             id="payout-" + r.ref)),
            spacing="2", wrap="wrap"), translate=False),
        id="support-refund-" + r.ref,
    )


def _request_row(r: rx.Var[RequestRow]) -> rx.Component:
    S = SupportState
    return rx.table.row(
        *labelled_cells(
            REQUEST_COLUMNS, r.ref, r.account, rx.fragment(r.purchase_at, " · ", r.amount),
            r.order, r.reason,
            rx.box(rx.text(r.due, color_scheme=rx.cond(r.overdue, "red", "gray"),
                           weight=rx.cond(r.overdue, "bold", "regular")),
                   rx.cond(r.overdue, rx.badge("Overdue", color_scheme="red"))),
            rx.badge(r.status),
            rx.cond(r.status == "Pending", rx.hstack(
                rx.button("Approve", size="1", on_click=S.ask("approve", r.id),
                          id="approve-" + r.ref),
                rx.button("Deny", size="1", color_scheme="red", variant="soft",
                          on_click=S.ask("deny", r.id), id="deny-" + r.ref),
                spacing="2")), translate=False),
        id="support-request-" + r.ref,
    )


def _check_dialog() -> rx.Component:
    """The confirmation every console action opens: the customer, the order and the
    amounts, then Confirm (a denial also takes the reason the customer will read)."""
    S = SupportState
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(S.check_title),
        rx.text(S.check_customer, weight="bold", id="check-customer"),
        rx.text(S.check_order, size="2", color_scheme="gray", id="check-order"),
        rx.cond(S.check_lines.length() > 0, rx.table.root(rx.table.body(rx.foreach(
            S.check_lines, lambda line: rx.table.row(
                rx.table.row_header_cell(line[0]),
                rx.table.cell(line[1], text_align="right")))),
            size="1", width="100%", id="check-lines")),
        rx.text(S.check_note, size="2", id="check-note"),
        rx.form(
            rx.vstack(
                rx.cond(S.check_needs_reason, rx.vstack(
                    rx.text("Reason the customer will see", as_="label", html_for="check-reason",
                            size="2", weight="medium"),
                    rx.text_area(name="reason", id="check-reason", width="100%"),
                    width="100%", spacing="1")),
                rx.hstack(
                    rx.button("Back", type="button", variant="soft", color_scheme="gray",
                              on_click=S.close_check, id="check-back"),
                    rx.button(S.check_confirm_label, type="submit", id="check-confirm"),
                    justify="end", spacing="3", width="100%"),
                spacing="3", width="100%"),
            on_submit=S.confirm_checked, reset_on_submit=True, width="100%"),
        id="check-dialog", max_width="32em",
    ), open=S.check_open, on_open_change=S.check_open_changed)


def _select(value, items, on_change, id_: str, label: str) -> rx.Component:
    """A filter: a select whose trigger is named for assistive technology."""
    return rx.select.root(
        rx.select.trigger(id=id_, aria_label=label),
        rx.select.content(*[rx.select.item(i, value=i) for i in items]),
        value=value, on_change=on_change, size="1")


def support_page() -> rx.Component:
    S = SupportState
    return page(
        rx.heading("Support console", size="6"),
        rx.cond(S.message != "", rx.callout(S.message, color_scheme=S.message_color,
                                            id="support-message")),
        rx.hstack(rx.heading("Refunds", size="4"),
                  _select(S.status_filter, [str(s) for s in console.STATUSES], S.set_status_filter,
                          "refund-filter", "Show refunds"),
                  rx.button("Refresh", size="1", variant="soft", on_click=S.refresh),
                  spacing="3", align="center", wrap="wrap"),
        stacked_table(REFUND_COLUMNS, rx.foreach(S.refunds, _refund_row), translate=False),
        pager(S),
        rx.cond(S.has_attention, rx.form(
            rx.hstack(
                rx.select.root(rx.select.trigger(placeholder="Refund that needs attention",
                                                 id="resolve-pick",
                                                 aria_label="Refund that needs attention"),
                               rx.select.content(rx.foreach(
                                   S.refunds, lambda r: rx.cond(
                                       r.needs_attention,
                                       rx.select.item(r.ref, value=r.id.to(str))))),
                               name="refund_id"),
                rx.select.root(
                    rx.select.trigger(id="resolve-finding", aria_label="What the provider shows"),
                    rx.select.content(
                        rx.select.item("Provider paid it", value="paid"),
                        rx.select.item("Provider did not pay (stale notice)", value="not_paid")),
                    name="finding", default_value="paid"),
                rx.input(name="note", placeholder="What was done (goes in the audit trail)",
                         width="24em", max_width="100%", id="resolve-note",
                         aria_label="What was done (goes in the audit trail)"),
                rx.button("Mark resolved", color_scheme="orange", type="submit",
                          id="resolve-submit"),
                spacing="2", align="center", wrap="wrap"),
            on_submit=S.resolve_attention, reset_on_submit=True,
        )),
        rx.cond(S.trail_ref != "", rx.card(
            rx.text("Audit trail of ", S.trail_ref, weight="bold"),
            rx.foreach(S.trail, lambda e: rx.flex(
                rx.text(e.at, size="1", white_space="nowrap"),
                rx.text(e.actor, size="1", weight="medium"),
                rx.text(e.action, size="1"), rx.text(e.change, size="1"),
                rx.text(e.detail, size="1", color_scheme="gray"), spacing="3", wrap="wrap")),
            width="100%", id="audit-trail")),
        rx.hstack(rx.heading("Email requests", size="4"),
                  _select(S.request_filter, [str(f) for f in requests.REQUEST_FILTERS],
                          S.set_request_filter, "request-filter", "Show requests"),
                  spacing="3", align="center", wrap="wrap"),
        stacked_table(REQUEST_COLUMNS, rx.foreach(S.requests_rows, _request_row),
                      translate=False),
        _check_dialog(),
        rx.cond(S.demo_mode, rx.vstack(rx.heading("Sandbox provider", size="4"), rx.form(
            rx.hstack(
                rx.input(name="order_ref", placeholder="Order, e.g. SUB-1002", id="sandbox-order",
                         aria_label="Order"),
                rx.select.root(
                    rx.select.trigger(aria_label="Sandbox outcome", id="sandbox-outcome"),
                    rx.select.content(rx.select.item("fail", value="fail"),
                                      rx.select.item("succeed", value="succeed")),
                    name="outcome", default_value="fail", size="2"),
                rx.button("Apply", type="submit", variant="outline", id="sandbox-apply"),
                spacing="2", align="center", wrap="wrap"),
            on_submit=S.sandbox, reset_on_submit=False,
        ), width="100%")),
    )
