"""E-mail refund request page (Option 3): the form, the review promise, the prepared
message to support, and the customer's requests with their outcome."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.config import SUPPORT_EMAIL
from zenmux_refunds.domain.money import format_instant
from zenmux_refunds.services import requests
from zenmux_refunds.services.views import RequestRow
from zenmux_refunds.ui.auth_state import AuthState
from zenmux_refunds.ui.layout import page

REVIEW_PROMISE = (
    "We review requests within 7 business days. Eligible refunds are processed to your "
    "original payment account, in the original currency, via the original payment "
    "method; depending on your payment institution they may take an additional 3-10 "
    "banking business days to arrive."
)


class RequestState(AuthState):
    contact: str = ""
    balance: str = ""
    error: str = ""
    filed: str = ""
    mailto: str = ""
    my_requests: list[RequestRow] = []

    @rx.event
    def load(self):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        self.contact, self.error, self.filed = account.email, "", ""
        self.balance = requests.unused_balance(account.id)
        self.mailto = requests.prepared_mail(account.email, "YYYY-MM-DD HH:mm", "", self.balance, "")
        self.my_requests = requests.my_requests(account.id)

    @rx.event
    def submit(self, form: dict):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        values = {k: str(form.get(k, "")) for k in ("contact", "purchase_at", "amount",
                                                     "unused_balance", "reason")}
        self.mailto = requests.prepared_mail(values["contact"], values["purchase_at"],
                                             values["amount"], values["unused_balance"],
                                             values["reason"])
        try:
            filed = requests.file_request(account.id, **values)
        except requests.RequestError as exc:
            self.error, self.filed = str(exc), ""
            return
        self.error = ""
        self.filed = (f"Request {filed.ref} recorded. Review due by "
                      f"{format_instant(filed.review_due_at)}"
                      + (f" (order {filed.matched_order})." if filed.matched_order else
                         " — no order matched that date, time and amount; support will "
                         "contact you."))
        self.my_requests = requests.my_requests(account.id)


def _field(label: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1",
                     width="100%")


def _request_row(r: rx.Var[RequestRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r.ref), rx.table.cell(r.submitted), rx.table.cell(r.order),
        rx.table.cell(r.amount), rx.table.cell(r.due),
        rx.table.cell(rx.vstack(
            rx.badge(r.status, id="request-status-" + r.ref),
            rx.cond(r.refund_ref != "",
                    rx.hstack(rx.text(r.refund_ref, size="1"),
                              rx.badge(r.refund_status, color_scheme=r.refund_color,
                                       id="request-refund-" + r.ref))),
            rx.cond(r.note != "", rx.text("Reason: ", r.note, size="1",
                                          id="request-note-" + r.ref)),
            spacing="1", align="start")),
    )


def request_page() -> rx.Component:
    S = RequestState
    return page(
        rx.heading("Request a refund by email", size="6"),
        rx.text("For any payment method, including those that cannot be refunded online. "
                "Times are UTC.", color_scheme="gray"),
        rx.callout(REVIEW_PROMISE, icon="clock", id="review-promise"),
        rx.form(
            rx.vstack(
                _field("Account email / ID", rx.input(name="contact", default_value=S.contact,
                                                      id="req-contact", width="100%")),
                _field("Purchase date and time (YYYY-MM-DD HH:mm, UTC)",
                       rx.input(name="purchase_at", placeholder="2026-11-26 10:00",
                                id="req-purchase-at", width="100%")),
                _field("Amount (USD)", rx.input(name="amount", placeholder="10.00",
                                                id="req-amount", width="100%")),
                _field("Current unused credit balance",
                       rx.input(name="unused_balance", default_value=S.balance,
                                id="req-balance", width="100%")),
                _field("Reason for refund", rx.text_area(name="reason", id="req-reason",
                                                         width="100%")),
                rx.cond(S.error != "", rx.callout(S.error, color_scheme="red",
                                                  icon="triangle_alert", id="req-error")),
                rx.cond(S.filed != "", rx.callout(S.filed, color_scheme="green",
                                                  icon="check", id="req-filed")),
                rx.hstack(
                    rx.button("Submit request", type="submit", id="req-submit"),
                    rx.link(f"Open the prepared e-mail to {SUPPORT_EMAIL}", href=S.mailto,
                            is_external=True, id="req-mailto"),
                    spacing="4", align="center",
                ),
                spacing="3", width="100%", max_width="560px",
            ),
            on_submit=S.submit, reset_on_submit=False,
        ),
        rx.link("Refund policy & FAQ", href="/policy"),
        rx.heading("Your requests", size="4"),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                "Request", "Submitted", "Order", "Amount", "Review due", "Outcome")])),
            rx.table.body(rx.foreach(S.my_requests, _request_row)),
            width="100%", variant="surface",
        ),
    )
