"""E-mail refund request page (Option 3): the form, the review promise, the prepared
message to support, and the customer's requests with their outcome."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.config import SUPPORT_EMAIL
from zenmux_refunds.i18n import format_instant, translate
from zenmux_refunds.services import requests
from zenmux_refunds.services.views import OrderChoice, RequestRow
from zenmux_refunds.ui.auth_state import AuthState
from zenmux_refunds.ui.components import labelled_cells, stacked_table
from zenmux_refunds.ui.i18n import t, tf
from zenmux_refunds.ui.layout import page

REVIEW_PROMISE = (
    "We review requests within 7 business days. Eligible refunds are processed to your "
    "original payment account, in the original currency, via the original payment "
    "method; depending on your payment institution they may take an additional 3-10 "
    "banking business days to arrive."
)


# the form's fields, by the names RequestError gives them (errors show beside them)
FIELDS = (requests.ORDER, requests.CONTACT, requests.WHEN, requests.AMOUNT,
          requests.BALANCE, requests.REASON)


class RequestState(AuthState):
    contact: str = ""
    balance: str = ""
    purchase_at: str = ""
    amount: str = ""
    picked: str = ""
    orders: list[OrderChoice] = []
    error: str = ""
    error_field: str = ""
    error_elsewhere: bool = False  # an error about no one field: shown above the button
    filed: str = ""
    mailto: str = ""
    my_requests: list[RequestRow] = []

    @rx.event
    def load(self):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        self.contact, self.error, self.error_field, self.filed = account.email, "", "", ""
        self.error_elsewhere = False
        self.purchase_at = self.amount = self.picked = ""
        locale = self.locale()
        self.orders = requests.orders_to_pick(account.id, locale=locale)
        self.balance = requests.unused_balance(account.id)
        self.mailto = requests.prepared_mail(account.email, "YYYY-MM-DD HH:mm", "", self.balance, "")
        self.my_requests = requests.my_requests(account.id, locale=locale)

    @rx.event
    def pick_order(self, value: str):
        """The customer picked one of their orders: fill in its date, time and amount
        (looked up again on the server: only the account's own orders)."""
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        choice = next((c for c in requests.orders_to_pick(account.id)
                       if c.value == str(value)), None)
        if choice is None:
            self.picked = ""
            return
        self.picked, self.purchase_at, self.amount = choice.value, choice.purchase_at, choice.amount

    @rx.event
    def set_purchase_at(self, value: str):
        self.purchase_at = str(value)[:40]

    @rx.event
    def set_amount(self, value: str):
        self.amount = str(value)[:40]

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
            self.error, self.error_field, self.filed = exc.in_language(self.lang), exc.field, ""
            self.error_elsewhere = exc.field not in FIELDS
            return
        self.error, self.error_field, self.error_elsewhere = "", "", False
        locale = self.locale()
        due = format_instant(filed.review_due_at, locale.lang, locale.tz)
        self.filed = (
            translate("Request {ref} recorded. Review due by {due} (order {order}).",
                      locale.lang, ref=filed.ref, due=due, order=filed.matched_order)
            if filed.matched_order else
            translate("Request {ref} recorded. Review due by {due} — no order matched that "
                      "date, time and amount; support will contact you.", locale.lang,
                      ref=filed.ref, due=due))
        self.my_requests = requests.my_requests(account.id, locale=self.locale())


def _field(label: str, control: rx.Component, field: str, control_id: str) -> rx.Component:
    """An input with its label (a <label> bound to it), and the error about it (if any)
    right beneath it."""
    S = RequestState
    return rx.vstack(
        rx.el.label(rx.text(t(label), size="2", weight="medium"), html_for=control_id), control,
        rx.cond(S.error_field == field,
                rx.text(S.error, color_scheme="red", size="2", role="alert", id="req-error")),
        spacing="1", width="100%")


REQUEST_COLUMNS = ("Request", "Submitted", "Order", "Amount", "Review due", "Outcome")


def _request_row(r: rx.Var[RequestRow]) -> rx.Component:
    return rx.table.row(*labelled_cells(
        REQUEST_COLUMNS, r.ref, rx.text(r.submitted, title=r.submitted_utc, as_="span"),
        r.order,
        r.amount, rx.text(r.due, title=r.due_utc, as_="span"),
        rx.vstack(
            rx.badge(r.status, id="request-status-" + r.ref),
            rx.cond(r.refund_ref != "",
                    rx.hstack(rx.text(r.refund_ref, size="1"),
                              rx.badge(r.refund_status, color_scheme=r.refund_color,
                                       id="request-refund-" + r.ref))),
            rx.cond(r.note != "", rx.text(tf("Reason: {note}", note=r.note), size="1",
                                          id="request-note-" + r.ref)),
            spacing="1", align="start")))


def request_page() -> rx.Component:
    S = RequestState
    return page(
        rx.heading(t("Request a refund by email"), size="6"),
        rx.text(t("For any payment method, including those that cannot be refunded online. "
                  "Times are UTC."), color_scheme="gray"),
        rx.callout(t(REVIEW_PROMISE), icon="clock", id="review-promise"),
        rx.form(
            rx.vstack(
                _field("Your order (or type its date, time and amount below)", rx.select.root(
                    rx.select.trigger(placeholder=t("Pick one of your orders"), id="req-order",
                                      width="100%"),
                    rx.select.content(rx.foreach(
                        S.orders, lambda o: rx.select.item(o.label, value=o.value))),
                    value=S.picked, on_change=S.pick_order), requests.ORDER, "req-order"),
                _field("Account email / ID", rx.input(name="contact", default_value=S.contact,
                                                      id="req-contact", width="100%"),
                       requests.CONTACT, "req-contact"),
                _field("Purchase date and time (YYYY-MM-DD HH:mm, UTC)",
                       rx.input(name="purchase_at", placeholder="2026-11-26 10:00",
                                value=S.purchase_at, on_change=S.set_purchase_at,
                                id="req-purchase-at", width="100%"), requests.WHEN,
                       "req-purchase-at"),
                _field("Amount (USD)", rx.input(name="amount", placeholder="10.00",
                                                value=S.amount, on_change=S.set_amount,
                                                id="req-amount", width="100%"),
                       requests.AMOUNT, "req-amount"),
                _field("Current unused credit balance",
                       rx.input(name="unused_balance", default_value=S.balance,
                                id="req-balance", width="100%"), requests.BALANCE,
                       "req-balance"),
                _field("Reason for refund", rx.text_area(name="reason", id="req-reason",
                                                         width="100%"), requests.REASON,
                       "req-reason"),
                rx.cond(S.error_elsewhere, rx.callout(S.error, color_scheme="red",
                                                      icon="triangle_alert", id="req-error")),
                rx.cond(S.filed != "", rx.callout(S.filed, color_scheme="green",
                                                  icon="check", id="req-filed")),
                rx.hstack(
                    rx.button(t("Submit request"), type="submit", id="req-submit"),
                    rx.text(tf("or {link} instead", link=rx.link(
                        tf("open a prepared e-mail to {email}", email=SUPPORT_EMAIL),
                        underline="always", href=S.mailto, is_external=True, id="req-mailto")),
                            size="1", color_scheme="gray"),
                    spacing="4", align="center", wrap="wrap",
                ),
                spacing="3", width="100%", max_width="560px",
            ),
            on_submit=S.submit, reset_on_submit=False,
        ),
        rx.link(t("Refund policy & FAQ"), href="/policy"),
        rx.heading(t("Your requests"), size="4"),
        stacked_table(REQUEST_COLUMNS, rx.foreach(S.my_requests, _request_row)),
    )
