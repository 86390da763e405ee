"""The signed-in account, as every page's state sees it.

The browser holds a random session token in a cookie; every page load and every
server action resolves it again through the auth service. Page states inherit from
``AuthState`` and call ``self.signed_in_account()`` at the top of each handler, so
nothing a browser sends can act for another account.
"""

from __future__ import annotations

import logging

import reflex as rx

from zenmux_refunds.config import settings
from zenmux_refunds.models import Account
from zenmux_refunds.services import auth

log = logging.getLogger(__name__)

SIGN_IN_ROUTE = "/sign-in"
HOME_ROUTE = "/subscription"


class AuthState(rx.State):
    session_token: str = rx.Cookie("", name="zenmux_session", same_site="strict",
                                   max_age=settings().session_hours * 3600)
    account_name: str = ""
    account_email: str = ""
    account_role: str = ""
    demo_mode: bool = settings().demo_mode

    def signed_in_account(self) -> Account | None:
        """Resolve the session token now (never trust what was resolved before)."""
        account = auth.account_for_token(self.session_token)
        if account is None:
            self.account_name = self.account_email = self.account_role = ""
        else:
            self.account_name, self.account_email = account.name, account.email
            self.account_role = account.role
        return account

    @rx.var
    def is_support(self) -> bool:
        return self.account_role == auth.SUPPORT

    @rx.event
    def require_customer_page(self):
        """on_load of every signed-in page: no session, no page."""
        if self.signed_in_account() is None:
            return rx.redirect(SIGN_IN_ROUTE)

    @rx.event
    def sign_out(self):
        auth.sign_out(self.session_token)
        self.session_token = ""
        self.account_name = self.account_email = self.account_role = ""
        return rx.redirect(SIGN_IN_ROUTE)
