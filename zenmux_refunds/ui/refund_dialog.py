"""The refund dialog, shared by both billing pages: one dialog per page, driven by the
selected order. Step 1 preview, step 2 second confirmation, step 3 status.

Every handler resolves the session again and passes the account to the services,
which refuse an order that is not the account's; the dialog only holds view data.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from zenmux_refunds.services import billing, quotes, refunds
from zenmux_refunds.ui.auth_state import AuthState

log = logging.getLogger(__name__)

PREVIEW, CONFIRM, STATUS = "preview", "confirm", "status"
IN_FLIGHT_NOTICE = (
    "API requests in transit between payment and refund initiation may still be billed. "
    "The final refund amount may differ from the amount shown in the refund preview — "
    "the actual settled amount prevails."
)
TICK_SECONDS = 1.0


class RefundDialogState(AuthState):
    open: bool = False
    step: str = PREVIEW
    kind: str = ""
    order_id: int = 0
    order_ref: str = ""
    lines: list[list[str]] = []
    final: str = ""
    final_in_currency: str = ""
    final_cents: int = 0
    method: str = ""
    window: str = ""
    forfeits: list[str] = []
    can_refund: bool = False
    reason: str = ""
    error: str = ""
    busy: bool = False
    watching: bool = False
    # step 3
    refund_id: int = 0
    refund_ref: str = ""
    status: str = ""
    status_label: str = ""
    status_description: str = ""
    status_color: str = "blue"
    status_final: str = ""
    arrival: str = ""
    changed: bool = False
    preview_final: str = ""
    settled_final: str = ""

    def _load_preview(self, account_id: int) -> None:
        view = billing.preview(account_id, self.kind, self.order_id)
        self.order_ref = view["order_ref"]
        self.lines = view["lines"]
        self.final, self.final_in_currency = view["final"], view["final_in_currency"]
        self.final_cents = view["final_cents"]
        self.method, self.window, self.forfeits = view["method"], view["window"], view["forfeits"]
        self.can_refund, self.reason = view["can_refund"], view["reason"]

    def _load_status(self, account_id: int) -> None:
        view = billing.refund_status(account_id, self.refund_id)
        self.refund_ref, self.status = view["refund_ref"], view["status"]
        self.status_label, self.status_description = view["label"], view["description"]
        self.status_color, self.status_final = view["color"], view["final"]
        self.arrival, self.changed = view["arrival"], view["changed"]
        self.preview_final, self.settled_final = view["preview_final"], view["settled_final"]

    @rx.event
    def open_for(self, kind: str, order_id: int):
        """Open the dialog for one of the signed-in account's orders."""
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        self.kind, self.order_id = str(kind), int(order_id)
        self.step, self.error, self.busy, self.refund_id = PREVIEW, "", False, 0
        try:
            self._load_preview(account.id)
        except quotes.NotYourOrder:
            log.warning("%s asked to refund %s order %s that is not theirs",
                        account.email, kind, order_id)
            self.open = False
            return rx.toast.error("Order not found.")
        self.open = True
        return RefundDialogState.watch

    @rx.event
    def set_open(self, value: bool):
        if not value:
            return self.close()
        self.open = value

    @rx.event
    def close(self):
        self.open = False
        return self._refresh_page()

    @rx.event
    def to_confirm(self):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect("/sign-in")
        try:
            self._load_preview(account.id)
        except quotes.NotYourOrder:
            self.open = False
            return
        if not self.can_refund:
            self.error = self.reason
            return
        self.error, self.step = "", CONFIRM

    @rx.event
    def back(self):
        self.step, self.error = PREVIEW, ""

    @rx.event(background=True)
    async def confirm(self):
        """The second confirmation: the server approves (or refuses) the refund."""
        async with self:
            if self.busy or self.step != CONFIRM:
                return
            account = self.signed_in_account()
            if account is None:
                self.open = False
                yield rx.redirect("/sign-in")
                return
            self.busy, self.error = True, ""
            kind, order_id, preview_cents = self.kind, self.order_id, self.final_cents
        try:
            approved = await asyncio.to_thread(
                refunds.approve, account_id=account.id, kind=kind, order_id=order_id,
                preview_final_cents=preview_cents, actor=account.email)
        except (refunds.RefundRefused, quotes.NotYourOrder) as exc:
            async with self:
                self.busy, self.step = False, PREVIEW
                self.error = str(exc) if isinstance(exc, refunds.RefundRefused) else "Order not found."
                try:
                    self._load_preview(account.id)
                except quotes.NotYourOrder:
                    self.open = False
            return
        async with self:
            self.refund_id, self.step, self.busy = approved.refund_id, STATUS, False
            self._load_status(account.id)
        yield self._refresh_page()
        await asyncio.to_thread(refunds.send, approved.refund_id)
        async with self:
            self._load_status(account.id)

    def _refresh_page(self):
        """The event that reloads the page the dialog was opened from."""
        from zenmux_refunds.ui.credits import CreditsState
        from zenmux_refunds.ui.subscription import SubscriptionState

        return CreditsState.load_rows if self.kind == quotes.TOPUP else SubscriptionState.load_rows

    @rx.event(background=True)
    async def watch(self):
        """While the dialog is open: keep the window countdown and the status current."""
        async with self:
            if self.watching:
                return
            self.watching = True
        try:
            while True:
                await asyncio.sleep(TICK_SECONDS)
                async with self:
                    if not self.open:
                        return
                    account = self.signed_in_account()
                    if account is None:
                        self.open = False
                        return
                    before = self.status
                    try:
                        if self.step == STATUS and self.refund_id:
                            self._load_status(account.id)
                        else:
                            # Only the countdown moves: the amounts stay those the
                            # customer is reading; approval settles with the latest usage
                            # and says so if the amount changed.
                            self.window = billing.preview(account.id, self.kind,
                                                          self.order_id)["window"]
                    except quotes.NotYourOrder:
                        self.open = False
                        return
                    status_changed = self.step == STATUS and self.status != before
                if status_changed:
                    yield self._refresh_page()
        finally:
            async with self:
                self.watching = False


def _preview_body() -> rx.Component:
    S = RefundDialogState
    return rx.vstack(
        rx.foreach(S.lines, lambda line: rx.hstack(
            rx.text(line[0], color_scheme="gray"), rx.text(line[1], weight="medium"),
            justify="between", width="100%")),
        rx.divider(),
        rx.hstack(
            rx.text("Final refund amount", weight="bold"),
            rx.hstack(
                rx.text(S.final, weight="bold", size="5", id="final-amount"),
                rx.cond(S.final_in_currency != "",
                        rx.text("returned as ", S.final_in_currency, id="final-in-currency")),
                align="baseline",
            ),
            justify="between", width="100%", align="center",
        ),
        rx.cond(S.forfeits.length() > 0,
                rx.vstack(rx.foreach(S.forfeits, lambda f: rx.text("• ", f, size="2")),
                          spacing="1", id="forfeits")),
        rx.text(S.window, size="2", weight="medium", id="refund-window"),
        rx.callout(IN_FLIGHT_NOTICE, icon="info", size="1", color_scheme="gray"),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", icon="triangle_alert",
                                          id="dialog-error")),
        rx.hstack(
            rx.link("Refund policy & FAQ", href="/policy", size="2", is_external=True),
            rx.spacer(),
            rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.close),
            rx.button("Submit Refund", on_click=S.to_confirm, disabled=~S.can_refund,
                      id="submit-refund"),
            width="100%", align="center",
        ),
        spacing="3", width="100%",
    )


def _confirm_body() -> rx.Component:
    S = RefundDialogState
    return rx.vstack(
        rx.text("Please confirm your refund", weight="bold", size="4"),
        rx.text(
            "Refund ", rx.text.strong(S.final),
            rx.cond(S.final_in_currency != "", rx.text.span(" (", S.final_in_currency, ")")),
            " to your original payment method, ", rx.text.strong(S.method), "? ",
            id="confirm-text",
        ),
        rx.text("This cannot be undone. The amount is settled with your latest usage when you "
                "confirm.", size="2", color_scheme="gray"),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", icon="triangle_alert")),
        rx.hstack(
            rx.button("Back", variant="soft", color_scheme="gray", on_click=S.back),
            rx.button("Confirm refund", color_scheme="red", on_click=S.confirm,
                      loading=S.busy, id="confirm-refund"),
            justify="end", width="100%",
        ),
        spacing="3", width="100%",
    )


def _status_body() -> rx.Component:
    S = RefundDialogState
    return rx.vstack(
        rx.hstack(rx.text("Refund ", S.refund_ref, weight="bold"),
                  rx.badge(S.status_label, color_scheme=S.status_color, size="2", id="refund-status"),
                  justify="between", width="100%"),
        rx.text(S.status_description, id="status-description"),
        rx.hstack(rx.text("Amount", color_scheme="gray"), rx.text(S.status_final, weight="bold"),
                  justify="between", width="100%"),
        rx.cond(S.arrival != "", rx.text(S.arrival, size="2", id="arrival")),
        rx.cond(S.changed, rx.callout(
            rx.text("The settled amount changed: the preview showed ", rx.text.strong(S.preview_final),
                    ", the settled amount is ", rx.text.strong(S.settled_final),
                    " because API calls in flight were billed after the preview."),
            color_scheme="amber", icon="info", id="settled-changed")),
        rx.hstack(rx.button("Close", on_click=S.close, id="close-dialog"), justify="end",
                  width="100%"),
        spacing="3", width="100%",
    )


def refund_dialog() -> rx.Component:
    S = RefundDialogState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.step == STATUS, "Refund status", "Refund " + S.order_ref)),
            rx.match(S.step, (CONFIRM, _confirm_body()), (STATUS, _status_body()),
                     _preview_body()),
            max_width="520px", id="refund-dialog",
        ),
        open=S.open,
        on_open_change=S.set_open,
    )
