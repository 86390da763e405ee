"""Sign-in page: e-mail and password; in demo mode, one-click demo personas."""

from __future__ import annotations

import reflex as rx
from sqlmodel import select

from zenmux_refunds import db
from zenmux_refunds.models import Account
from zenmux_refunds.services import auth
from zenmux_refunds.ui.auth_state import HOME_ROUTE, AuthState


class SignInState(AuthState):
    error: str = ""
    personas: list[dict[str, str]] = []

    @rx.event
    def load(self):
        if self.signed_in_account() is not None:
            return rx.redirect(HOME_ROUTE)
        self.error = ""
        if self.demo_mode:
            with db.reading() as session:
                rows = session.exec(select(Account).order_by(Account.id)).all()
            self.personas = [
                {"ref": a.ref, "name": a.name, "email": a.email, "role": a.role} for a in rows
            ]

    @rx.event
    def submit(self, form_data: dict[str, str]):
        try:
            token = auth.sign_in(str(form_data.get("email", "")), str(form_data.get("password", "")))
        except auth.SignInError as exc:
            self.error = str(exc)
            return
        self.session_token = token
        self.error = ""
        return rx.redirect(HOME_ROUTE)

    @rx.event
    def persona(self, account_ref: str):
        try:
            token = auth.sign_in_persona(str(account_ref))
        except auth.SignInError as exc:
            self.error = str(exc)
            return
        self.session_token = token
        return rx.redirect(HOME_ROUTE)


def _persona_button(p: rx.Var) -> rx.Component:
    return rx.button(
        rx.hstack(
            rx.vstack(
                rx.text(p["name"], weight="bold"),
                rx.text(p["email"], size="1", color_scheme="gray"),
                spacing="0",
                align="start",
            ),
            rx.cond(p["role"] == "support", rx.badge("support", color_scheme="purple")),
            justify="between",
            align="center",
            width="100%",
        ),
        variant="surface",
        size="3",
        width="100%",
        height="auto",
        padding_y="0.5em",
        on_click=SignInState.persona(p["ref"]),
        id=f"persona-{p['ref']}",
    )


def sign_in_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.heading("ZenMux", size="7"),
                rx.text("Sign in to manage your billing and refunds.", color_scheme="gray"),
                rx.form(
                    rx.vstack(
                        rx.text("Email", size="2", weight="medium"),
                        rx.input(name="email", type="email", placeholder="you@example.com",
                                 width="100%", id="email"),
                        rx.text("Password", size="2", weight="medium"),
                        rx.input(name="password", type="password", width="100%", id="password"),
                        rx.cond(
                            SignInState.error != "",
                            rx.callout(SignInState.error, color_scheme="red", icon="triangle_alert",
                                       id="sign-in-error"),
                        ),
                        rx.button("Sign in", type="submit", width="100%", size="3"),
                        spacing="2",
                        width="100%",
                    ),
                    on_submit=SignInState.submit,
                    reset_on_submit=False,
                    width="100%",
                ),
                rx.cond(
                    SignInState.demo_mode,
                    rx.vstack(
                        rx.divider(),
                        rx.text("Demo personas — one-click sign-in", weight="bold"),
                        rx.foreach(SignInState.personas, _persona_button),
                        spacing="2",
                        width="100%",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
            width="420px",
            size="4",
        ),
        min_height="100vh",
        padding="2em",
    )
