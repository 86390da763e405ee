"""The frame every signed-in page shares: header with the account and navigation,
the demo bar (clock, reset) in demo mode, and the footer."""

from __future__ import annotations

import logging
import uuid

import reflex as rx

from zenmux_refunds.config import SUPPORT_EMAIL, settings
from zenmux_refunds.domain.money import format_instant
from zenmux_refunds.auth_api import SIGN_OUT_PATH
from zenmux_refunds.i18n import LANGUAGES
from zenmux_refunds.services import auth, demo, scenarios, usage
from zenmux_refunds.ui.native_form import native_form
from zenmux_refunds.ui.auth_state import SIGN_IN_ROUTE, AuthState
from zenmux_refunds.ui.i18n import t, tf

log = logging.getLogger(__name__)


def clock_text_now() -> str:
    return demo.current_time().isoformat()


class DemoState(AuthState):
    """The demo bar. Every handler refuses on the server unless demo mode is on
    (``settings().demo_mode``, never a var the browser could send). The clock and the
    reset change every account's world, so in a shared demo only support moves them;
    a customer may simulate API calls billed to their own account only."""

    clock_text: str = ""
    demo_message: str = ""
    demo_ok: bool = False

    def _demo_account(self, *, support: bool = False):
        """The signed-in account if demo mode is on (and it is support when asked)."""
        if not settings().demo_mode:
            log.warning("demo control refused: demo mode is off")
            return None
        account = self.signed_in_account()
        if account is None:
            return None
        if support and account.role != auth.SUPPORT:
            log.warning("demo control refused: %s is not support", account.ref)
            self.demo_message, self.demo_ok = self.say(
                "Only support can move the shared demo clock or reset the demo."), False
            return None
        return account

    @rx.event
    def refresh_clock(self):
        if settings().demo_mode:
            self.clock_text = format_instant(demo.current_time())

    @rx.event
    def advance(self, duration: str):
        if self._demo_account(support=True) is None:
            return
        try:
            demo.advance_clock(demo.parse_duration(str(duration)))
        except demo.DemoError as exc:
            self.demo_message, self.demo_ok = str(exc), False
            return
        self.demo_message = ""
        self.clock_text = format_instant(demo.current_time())
        return rx.redirect(self.router.url.path or "/subscription")

    @rx.event
    def simulate_call(self, form_data: dict):
        """Demo: the gateway bills an API call to the signed-in account."""
        account = self._demo_account()
        if account is None:
            return
        try:
            usage.ingest({"call_id": f"demo-{uuid.uuid4().hex}", "account": account.ref,
                          "amount": str(form_data.get("amount", "")).strip()[:40],
                          "billed_to": str(form_data.get("billed_to", "credits"))[:20],
                          "at": clock_text_now()})
        except (usage.UsageError, LookupError) as exc:
            self.demo_message, self.demo_ok = self.say(str(exc)), False
            return
        # said on the page (a toast sent by the server would need eval, which the CSP forbids)
        self.demo_message, self.demo_ok = self.say("API call billed"), True

    @rx.event
    def reset_demo(self):
        if self._demo_account(support=True) is None:
            return
        scenarios.reset_demo()
        return rx.redirect(SIGN_IN_ROUTE)


def demo_banner() -> rx.Component:
    """Shown on every page while demo mode is on."""
    return rx.cond(
        AuthState.demo_mode,
        rx.callout(
            t("Demo mode: one-click demo personas, a shared clock and simulated payments. "
              "Not for real customers or real money."),
            icon="flask_conical", color_scheme="amber", size="1", width="100%",
            id="demo-banner",
        ),
    )


A11Y_SCRIPT = "/a11y.js"  # assets/a11y.js: focus back to a dialog's opener, step headings
MAIN_ID = "main"


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(t(label), href=href, size="3", weight="medium", underline="none")


# the browser's time zone, read where the event fires (compiled into the page, no eval)
BROWSER_TIME_ZONE = rx.Var("Intl.DateTimeFormat().resolvedOptions().timeZone").to(str)


def language_switch() -> rx.Component:
    """English / 简体中文, each named in its own language; the current one is pressed.
    Remembered on the account; a visitor's choice lasts as long as the tab."""
    return rx.el.nav(rx.hstack(
        *[rx.button(name, size="1", id=f"lang-{code}", type="button",
                    variant=rx.cond(AuthState.lang == code, "solid", "soft"),
                    on_click=AuthState.choose_language(code),
                    custom_attrs={"lang": code,
                                  "aria-pressed": rx.cond(AuthState.lang == code,
                                                          "true", "false")})
          for code, name in LANGUAGES.items()],
        spacing="1"), aria_label=t("Language"), id="language-switch")


def skip_link() -> rx.Component:
    """The first stop of the tab order: straight to the page's own content."""
    return rx.el.a(t("Skip to main content"), href="#" + MAIN_ID, class_name="skip-link",
                   id="skip-link")


def header() -> rx.Component:
    """The header of every page. On a public page (the policy) a visitor who is not
    signed in sees the brand and a Sign in link, no navigation and no demo bar."""
    signed_in = ~AuthState.visitor
    # data-lang: assets/a11y.js keeps <html lang> to it; on mount the browser says its
    # time zone (kept on the session: times are shown in it)
    return rx.el.header(rx.vstack(
        demo_banner(),
        # brand and navigation, then the account: each wraps onto its own line on a phone
        rx.flex(
            rx.flex(
                rx.text("ZenMux", size="5", weight="bold"),
                rx.cond(signed_in, rx.el.nav(rx.flex(
                    _nav_link("Subscription", "/subscription"),
                    _nav_link("Credits", "/credits"),
                    _nav_link("Email request", "/request"),
                    rx.cond(AuthState.demo_mode, _nav_link("Mailbox", "/mailbox")),
                    rx.cond(AuthState.is_support, _nav_link("Support console", "/support")),
                    spacing="4", align="center", wrap="wrap"), aria_label=t("Main"))),
                spacing="5",
                align="center",
                wrap="wrap",
            ),
            rx.flex(language_switch(), rx.cond(
                signed_in,
                rx.hstack(
                    rx.vstack(
                        rx.text(AuthState.account_name, weight="bold", id="account-name"),
                        rx.text(AuthState.account_email, size="1", color_scheme="gray",
                                overflow_wrap="anywhere"),
                        spacing="0",
                        align="end",
                    ),
                    native_form(
                        rx.button(t("Sign out"), variant="soft", type="submit", id="sign-out"),
                        action=SIGN_OUT_PATH,
                    ),
                    spacing="3",
                    align="center",
                ),
                rx.link(t("Sign in"), href=SIGN_IN_ROUTE, size="3", weight="medium",
                        id="sign-in-link"),
            ), spacing="4", align="center", wrap="wrap"),
            justify="between",
            align="center",
            width="100%",
            wrap="wrap",
            gap="3",
        ),
        rx.cond(
            AuthState.demo_mode & signed_in,
            rx.hstack(
                rx.badge(t("Demo"), color_scheme="amber"),
                rx.text(tf("Clock: {time}", time=DemoState.clock_text), size="2",
                        id="demo-clock", white_space="nowrap"),
                rx.cond(AuthState.is_support, rx.hstack(
                    rx.button(t("+1 hour"), size="1", variant="outline",
                              on_click=DemoState.advance("1h"), id="clock-1h"),
                    rx.button(t("+1 day"), size="1", variant="outline",
                              on_click=DemoState.advance("1d"), id="clock-1d"),
                    rx.button(t("Reset demo"), size="1", variant="outline", color_scheme="red",
                              on_click=DemoState.reset_demo, id="reset-demo"),
                    spacing="2", align="center")),
                rx.form(
                    rx.hstack(
                        rx.input(name="amount", default_value="1.00", size="1", width="6em",
                                 id="sim-amount",
                                 aria_label=t("Amount of the simulated call (USD)")),
                        rx.select.root(
                            rx.select.trigger(size="1", aria_label=t("Billed to")),
                            rx.select.content(rx.select.item(t("credits"), value="credits"),
                                              rx.select.item(t("subscription"),
                                                             value="subscription")),
                            name="billed_to", default_value="credits", size="1",
                        ),
                        rx.button(t("Simulate API call"), size="1", variant="outline",
                                  type="submit", id="simulate-call"),
                        spacing="1", align="center", wrap="wrap",
                    ),
                    on_submit=DemoState.simulate_call, reset_on_submit=False,
                ),
                rx.text(DemoState.demo_message, size="1", id="demo-message", role="status",
                        color_scheme=rx.cond(DemoState.demo_ok, "green", "red")),
                spacing="3",
                align="center",
                wrap="wrap",
                on_mount=DemoState.refresh_clock,
            ),
        ),
        rx.divider(),
        width="100%",
        padding_y="1em",
        spacing="3",
    ), width="100%", custom_attrs={"data-lang": AuthState.lang},
        on_mount=AuthState.report_time_zone(BROWSER_TIME_ZONE))


def footer() -> rx.Component:
    return rx.el.footer(rx.vstack(
        rx.divider(),
        rx.hstack(
            rx.text(t("Contact us:"), weight="bold", size="1"),
            rx.link(tf("Technical support: {email}", email=SUPPORT_EMAIL),
                    href=f"mailto:{SUPPORT_EMAIL}", size="1"),
            *([rx.link(tf("Business inquiries: {email}", email=settings().business_email),
                       href=f"mailto:{settings().business_email}", size="1")]
              if settings().business_email else []),
            rx.link(t("Website: zenmux.ai"), href="https://zenmux.ai", size="1",
                    is_external=True),
            rx.link(t("Twitter: @ZenMuxAI"), href="https://twitter.com/ZenMuxAI", size="1",
                    is_external=True),
            rx.link(t("Discord community"), href="http://discord.gg/vHZZzj84Bm", size="1",
                    is_external=True),
            rx.link(t("Refund policy & FAQ"), href="/policy", size="1"),
            spacing="4",
            wrap="wrap",
            id="contact-us",
        ),
        width="100%",
        padding_y="1em",
    ), width="100%")


def page(*children: rx.Component) -> rx.Component:
    """A page: skip link, header (banner, navigation, demo bar), the page's own content
    as the main landmark (the skip link's target), footer."""
    return rx.container(
        skip_link(),
        rx.script(src=A11Y_SCRIPT),
        rx.vstack(
            header(),
            rx.el.main(rx.vstack(*children, spacing="5", width="100%"), id=MAIN_ID,
                       tab_index=-1, width="100%", outline="none"),
            footer(),
            spacing="5", width="100%"),
        size="4",
        padding_x="4",
    )
