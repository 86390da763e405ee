"""The Reflex application: routes, each page guarded by a server-side session check."""

import reflex as rx

import zenmux_refunds.models  # noqa: F401  (tables reach Alembic through SQLModel.metadata)
from zenmux_refunds import api
from zenmux_refunds.ui import pages
from zenmux_refunds.ui.auth_state import HOME_ROUTE, SIGN_IN_ROUTE, AuthState
from zenmux_refunds.ui.credits import CreditsState, credits_page
from zenmux_refunds.ui.sign_in import SignInState, sign_in_page
from zenmux_refunds.ui.subscription import SubscriptionState, subscription_page
from zenmux_refunds.worker import background_loop


def index() -> rx.Component:
    return rx.center(rx.spinner(), min_height="100vh")


app = rx.App(api_transformer=api.build())
app.add_page(index, route="/", title="ZenMux", on_load=rx.redirect(HOME_ROUTE))
app.add_page(sign_in_page, route=SIGN_IN_ROUTE, title="Sign in · ZenMux", on_load=SignInState.load)
app.add_page(subscription_page, route="/subscription", title="Subscription · ZenMux",
             on_load=SubscriptionState.load)
app.add_page(credits_page, route="/credits", title="Credits · ZenMux",
             on_load=CreditsState.load)
app.add_page(pages.support_page, route="/support", title="Support console · ZenMux",
             on_load=AuthState.require_support_page)
app.register_lifespan_task(background_loop)
