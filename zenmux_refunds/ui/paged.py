"""The table-with-pages behaviour both billing pages share (a Reflex state mixin: each
page's state gets its own copy of these vars and handlers)."""

from __future__ import annotations

import reflex as rx

from zenmux_refunds.services.views import Page
from zenmux_refunds.ui.auth_state import SIGN_IN_ROUTE


class PagedTable(rx.State, mixin=True):
    """Mix into an AuthState page state that implements ``_fill(account_id)`` and
    declares ``rows``, typed with its view model (``rows: list[HistoryRow] = []``)."""

    page: int = 1
    pages: int = 1
    total: int = 0
    # whether the page's first load has finished: until then the page shows placeholders,
    # not "$0.00" and "0 rows" (reset with every per-user var when the session changes)
    loaded: bool = False

    def _fill(self, account_id: int) -> None:
        raise NotImplementedError

    def _on_load(self) -> None:
        """A fresh page load (a mixin placed before this one may reset its own vars)."""

    def _show(self, result: Page) -> None:
        """Keep one page of a ``views.Page`` result."""
        self.rows, self.total, self.pages, self.page = (result.rows, result.total,
                                                        result.pages, result.page)

    @rx.event
    def load(self):
        """on_load: first page, for the signed-in account only."""
        account = self.signed_in_account()
        if account is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.page = 1
        self._on_load()
        self._fill(account.id)
        self.loaded = True

    @rx.event
    def load_rows(self):
        account = self.signed_in_account()
        if account is not None:
            self._fill(account.id)

    @rx.event
    def go_to(self, page: int):
        account = self.signed_in_account()
        if account is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.page = max(1, min(int(page), self.pages))
        self._fill(account.id)
