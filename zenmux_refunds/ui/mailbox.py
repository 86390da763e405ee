"""The demo Mailbox (``/mailbox``, demo mode only): the signed-in persona's own mails
from the outbox, newest first, with their status (Sent / Waiting); opening one shows
its text. Every handler checks demo mode on the server and resolves the session again;
the service scopes every query by that account, and mail ids stay on the server (the
browser names a mail by its position in the list it was shown)."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from zenmux_refunds.config import settings
from zenmux_refunds.services import mail
from zenmux_refunds.ui.auth_state import HOME_ROUTE, SIGN_IN_ROUTE, AuthState
from zenmux_refunds.ui.components import labelled_cells, stacked_table
from zenmux_refunds.ui.i18n import t, tf
from zenmux_refunds.ui.layout import page


@dataclass(frozen=True)
class MailLine:
    """A mail as the list shows it (its id stays in the state's backend var)."""

    subject: str
    at: str
    status: str  # in the reader's language
    sent: bool
    at_utc: str


class MailboxState(AuthState):
    mails: list[MailLine] = []
    opened: int = -1
    subject: str = ""
    at: str = ""
    to: str = ""
    status: str = ""
    sent: bool = False
    text: str = ""
    _ids: list[int] = []

    def _account(self):
        if not settings().demo_mode:
            return None
        return self.signed_in_account()

    def _close(self) -> None:
        self.opened, self.subject, self.at, self.to, self.status, self.text = (
            -1, "", "", "", "", "")

    @rx.event
    def load(self):
        if not settings().demo_mode:
            return rx.redirect(HOME_ROUTE)
        account = self.signed_in_account()
        if account is None:
            return rx.redirect(SIGN_IN_ROUTE)
        rows = mail.mailbox(account.id, locale=self.locale())
        self._ids = [r.id for r in rows]
        self.mails = [MailLine(subject=r.subject, at=r.at, status=r.status, sent=r.sent,
                               at_utc=r.at_utc) for r in rows]
        self._close()

    @rx.event
    def open(self, position: int):
        account = self._account()
        if account is None:
            return rx.redirect(SIGN_IN_ROUTE)
        if not isinstance(position, int) or not 0 <= position < len(self._ids):
            self._close()
            return
        view = mail.open_mail(account.id, self._ids[position], locale=self.locale())
        if view is None:
            self._close()
            return
        self.opened = position
        self.subject, self.at, self.to, self.status, self.text = (
            view.subject, view.at, view.to, view.status, view.text)
        self.sent = view.sent


def _status_badge(status: rx.Var[str], sent: rx.Var[bool], **props) -> rx.Component:
    return rx.badge(status, color_scheme=rx.cond(sent, "green", "amber"), **props)


MAIL_COLUMNS = ("Subject", "Time", "Status")


def _row(line: rx.Var[MailLine], index: rx.Var[int]) -> rx.Component:
    return rx.table.row(
        *labelled_cells(
            MAIL_COLUMNS,
            rx.link(line.subject, href="#", id="mail-open-" + index.to_string(),
                    on_click=MailboxState.open(index).prevent_default),
            rx.text(line.at, title=line.at_utc, as_="span"),
            _status_badge(line.status, line.sent, id="mail-status-" + index.to_string())),
        id="mail-row-" + index.to_string(),
    )


def mailbox_page() -> rx.Component:
    S = MailboxState
    return page(
        rx.heading(t("Mailbox"), size="6"),
        rx.text(t("Demo only: the e-mails ZenMux wrote to this account, newest first. "
                  "Waiting mails are in the outbox until the mail server accepts them."),
                color_scheme="gray"),
        rx.cond(
            S.mails.length() > 0,
            stacked_table(MAIL_COLUMNS, rx.foreach(S.mails, _row), id="mailbox-list"),
            rx.text(t("No mail yet."), id="mailbox-empty"),
        ),
        rx.cond(
            S.opened >= 0,
            rx.card(
                rx.vstack(
                    rx.heading(S.subject, size="4", id="mail-subject"),
                    rx.hstack(rx.text(tf("To {to} · {time}", to=S.to, time=S.at), size="2",
                                      color_scheme="gray"),
                              _status_badge(S.status, S.sent), align="center"),
                    rx.divider(),
                    rx.text(S.text, white_space="pre-wrap", font_family="monospace",
                            size="2", id="mail-text", overflow_wrap="anywhere"),
                    spacing="3", width="100%",
                ),
                width="100%", id="mail-view",
            ),
        ),
    )
