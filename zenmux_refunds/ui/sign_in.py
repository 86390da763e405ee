"""Sign-in page: e-mail and password; in demo mode, one-click demo personas.

Both are plain HTML form posts to the sign-in endpoints (auth_api.py), which set the
HttpOnly session cookie and send the browser on; a refused attempt comes back here with
a short code (``?error=locked&minutes=15``) that this page turns into words."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds import auth_api
from zenmux_refunds.services import auth
from zenmux_refunds.ui.native_form import native_form
from zenmux_refunds.ui.auth_state import HOME_ROUTE, AuthState
from zenmux_refunds.ui.i18n import t
from zenmux_refunds.ui.layout import A11Y_SCRIPT, demo_banner, language_switch


class SignInState(AuthState):
    error: str = ""
    personas: list[dict[str, str]] = []

    @rx.event
    def load(self):
        if self.signed_in_account() is not None:
            return rx.redirect(HOME_ROUTE)
        query = self.router.url.query_parameters
        self.error = auth_api.message_for(str(query.get("error", "")),
                                          str(query.get("minutes", "")), self.lang)
        self.personas = [{"ref": a.ref, "name": a.name, "email": a.email, "role": a.role}
                         for a in auth.demo_personas()]


def _persona_button(p: rx.Var) -> rx.Component:
    return native_form(
        rx.el.input(type="hidden", name="ref", value=p["ref"]),
        rx.button(
            rx.hstack(
                rx.vstack(
                    rx.text(p["name"], weight="bold"),
                    rx.text(p["email"], size="1", color_scheme="gray"),
                    spacing="0",
                    align="start",
                ),
                rx.cond(p["role"] == "support", rx.badge(t("support"), color_scheme="purple")),
                justify="between",
                align="center",
                width="100%",
            ),
            type="submit",
            variant="surface",
            size="3",
            width="100%",
            height="auto",
            padding_y="0.5em",
            id=f"persona-{p['ref']}",
        ),
        action=auth_api.PERSONA_PATH,
        width="100%",
    )


def _field(label: str, control_id: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(t(label), html_for=control_id, style={"fontWeight": 500, "fontSize": "14px"}),
        rx.input(id=control_id, width="100%", **props),
        spacing="1",
        width="100%",
    )


def sign_in_page() -> rx.Component:
    return rx.el.main(rx.script(src=A11Y_SCRIPT), rx.center(
        rx.vstack(
            demo_banner(),
            language_switch(),
            rx.card(
                rx.vstack(
                    rx.heading("ZenMux", size="7", as_="h1"),
                    rx.text(t("Sign in to manage your billing and refunds."), color_scheme="gray"),
                    native_form(
                        rx.vstack(
                            _field("Email", "email", name="email", type="email",
                                   placeholder="you@example.com", auto_complete="username",
                                   required=True),
                            _field("Password", "password", name="password", type="password",
                                   auto_complete="current-password", required=True),
                            rx.cond(
                                SignInState.error != "",
                                rx.callout(SignInState.error, color_scheme="red",
                                           icon="triangle_alert", id="sign-in-error",
                                           role="alert"),
                            ),
                            rx.button(t("Sign in"), type="submit", width="100%", size="3"),
                            spacing="2",
                            width="100%",
                        ),
                        action=auth_api.SIGN_IN_PATH,
                        width="100%",
                    ),
                    rx.cond(
                        SignInState.demo_mode & (SignInState.personas.length() > 0),
                        rx.vstack(
                            rx.divider(),
                            rx.text(t("Demo personas — one-click sign-in"), weight="bold"),
                            rx.foreach(SignInState.personas, _persona_button),
                            spacing="2",
                            width="100%",
                        ),
                    ),
                    spacing="4",
                    width="100%",
                ),
                width="100%",
                size="4",
            ),
            align="center",
            spacing="4",
            width="100%",
            max_width="420px",
        ),
        min_height="100vh",
        padding="1em",
    ), id="main", custom_attrs={"data-lang": AuthState.lang})
