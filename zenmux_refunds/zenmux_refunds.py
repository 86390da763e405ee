"""The Reflex application: routes, each page guarded by a server-side session check."""

import logging

import reflex as rx

import zenmux_refunds.models  # noqa: F401  (tables reach Alembic through SQLModel.metadata)
from zenmux_refunds import api, http_security, log_safety, logs
from zenmux_refunds.config import settings
from zenmux_refunds.ui.auth_state import HOME_ROUTE, SIGN_IN_ROUTE, AuthState
from zenmux_refunds.ui import state_lock
from zenmux_refunds.ui.session_guard import SessionGuard
from zenmux_refunds.ui.credits import CreditsState, credits_page
from zenmux_refunds.ui.mailbox import MailboxState, mailbox_page
from zenmux_refunds.ui.policy import policy_page
from zenmux_refunds.ui.request import RequestState, request_page
from zenmux_refunds.ui.sign_in import SignInState, sign_in_page
from zenmux_refunds.ui.subscription import SubscriptionState, subscription_page
from zenmux_refunds.ui.support import SupportState, support_page
from zenmux_refunds.worker import background_loop


def index() -> rx.Component:
    return rx.center(rx.spinner(), min_height="100vh")


log_safety.install()
state_lock.install()  # before any event takes a tab's lock
logs.configure()
log = logging.getLogger("zenmux_refunds")
if settings().demo_mode:
    log.warning("DEMO MODE IS ON (ZENMUX_DEMO=1): one-click persona sign-in, a movable "
                "clock, demo reset and Sandbox controls are open. Never set it in production.")


def event_failed(exception: Exception) -> None:
    """An event whose handler (or the session check before it) raised: logged, and
    nothing is sent to the tab. Reflex's own handler answers with a toast the browser
    must eval, which the Content-Security-Policy forbids; the page then reports that
    failure as an event of its own, which fails again when what failed was the session
    check (the database down), and so on, as fast as the socket goes: every open tab
    hammered the server for as long as the outage lasted."""
    log.error("an event failed", exc_info=exception)


# The API routes wrap the app; the security headers wrap everything (pages included);
# outermost, the scheme the client used behind a TLS-terminating proxy.
app = rx.App(api_transformer=[api.build(), http_security.SecurityHeaders,
                              http_security.ForwardedScheme],
             stylesheets=["/zenmux.css"],  # assets/zenmux.css: phone layout, a11y
             backend_exception_handler=event_failed)
app.add_middleware(SessionGuard())
app.add_page(index, route="/", title="ZenMux", on_load=rx.redirect(HOME_ROUTE))
app.add_page(sign_in_page, route=SIGN_IN_ROUTE, title="Sign in · ZenMux", on_load=SignInState.load)
app.add_page(subscription_page, route="/subscription", title="Subscription · ZenMux",
             on_load=SubscriptionState.load)
app.add_page(credits_page, route="/credits", title="Credits · ZenMux",
             on_load=CreditsState.load)
app.add_page(request_page, route="/request", title="Email request · ZenMux",
             on_load=RequestState.load)
app.add_page(support_page, route="/support", title="Support console · ZenMux",
             on_load=SupportState.load)
app.add_page(mailbox_page, route="/mailbox", title="Mailbox · ZenMux",
             on_load=MailboxState.load)
app.add_page(policy_page, route="/policy", title="Refund policy & FAQ · ZenMux",
             on_load=AuthState.load_public_page)
# ZENMUX_BACKGROUND=off: one `python -m zenmux_refunds worker` runs the pass instead
if settings().background_inline:
    app.register_lifespan_task(background_loop)
