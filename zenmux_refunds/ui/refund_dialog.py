"""The refund dialog, shared by both billing pages: one dialog per page, driven by the
selected order. Step 1 preview, step 2 second confirmation, step 3 status. An order
whose last refund failed opens on that failure first (step 0); the customer goes on to
a new preview from there, or closes.

What will happen is said before it happens: the preview and the confirmation carry the
service's own sentences (the plan drops to Free, the top-up credits leave the wallet,
where the money goes), and Submit compares the fresh quote with the amount the customer
was shown: the service says when it changed, with both amounts.

Every handler resolves the session again and passes the account to the services,
which refuse an order that is not the account's; the dialog only holds view data.

The server does no work for a dialog on its own: no background task outlives an event.
The window countdown runs in the browser (``assets/countdown.js``, from the seconds left
on the app's clock when the preview was read; Submit re-quotes on the server), and while
a refund is Refunding the open dialog asks for its status every couple of seconds, so a
closed tab asks nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading

import reflex as rx

from zenmux_refunds.domain.vocabulary import OrderKind
from zenmux_refunds.i18n import Locale
from zenmux_refunds.services import billing, preferences, quotes, refunds
from zenmux_refunds.services.views import RefundStatusView
from zenmux_refunds.ui.auth_state import AuthState
from zenmux_refunds.ui.i18n import t, tf, tv

log = logging.getLogger(__name__)

FAILED, PREVIEW, CONFIRM, STATUS = "failed", "preview", "confirm", "status"
KINDS = tuple(OrderKind)
MAX_ORDER_ID = 2**31 - 1  # an INTEGER key on PostgreSQL; SQLite's is wider
STATUS_POLL_MS = 2000
# confirm: an approval that takes longer than this shows the Confirm button busy (one
# more delta and render, which a quick approval does not pay for)
SPINNER_AFTER_S = 0.2
FORGET_AFTER_S = 60  # a slow approval's outcome, if its tab never comes back for it
COUNTDOWN_SCRIPT = "/countdown.js"  # assets/countdown.js
IN_FLIGHT_NOTICE = (
    "API requests in transit between payment and refund initiation may still be billed. "
    "The final refund amount may differ from the amount shown in the refund preview — "
    "the actual settled amount prevails."
)
ORDER_NOT_FOUND = "Order not found."


class _SendWhenShown:
    """``confirm``'s dispatch: ``refunds.send_soon``, held from the commit until the
    status has been sent to the browser (``release``). Once released (the status shown,
    or the task ended any other way, cancelled included), an approval that commits
    later is sent at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[int] = []
        self._released = False

    def __call__(self, refund_id: int) -> None:  # the approval's thread, after the commit
        with self._lock:
            if not self._released:
                self._held.append(refund_id)
                return
        refunds.send_soon(refund_id)

    def release(self) -> None:
        with self._lock:
            self._released = True
            held, self._held = self._held, []
        for refund_id in held:
            refunds.send_soon(refund_id)


class _SessionAtCommit:
    """``confirm``'s ``within``: reads the tab's session in the approval's transaction,
    after its writes, so that the status is shown only if the session that asked was
    still live and the account's when the refund was written (signed out or replaced
    meanwhile: nothing of the account reaches the tab). What it read is kept for the
    handler (the approval's thread writes it once, before the handler reads it)."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._found: tuple | None = None

    def __call__(self, s, refund, now) -> None:
        self._found = preferences.signed_in(self._token, within=s)

    def locale_of(self, account_id: int) -> Locale | None:
        return _locale_if_theirs(self._found, account_id)


def _locale_if_theirs(found: tuple | None, account_id: int) -> Locale | None:
    """The Locale of a session read (``preferences.signed_in``) if it signs in
    ``account_id``, else None."""
    return found[1] if found is not None and found[0].id == account_id else None


class _Waiting:
    """A slow ``confirm``'s approval, kept in this process for the tab's
    ``confirm_waits`` under a random key (the tab holds only the key, server-side).
    Forgotten FORGET_AFTER_S after it ends if the tab never came back for it."""

    _kept: dict[str, "_Waiting"] = {}

    def __init__(self, approval: asyncio.Future, account_id: int, kind: str, order_id: int):
        self.approval, self.account_id = approval, account_id
        self.kind, self.order_id = kind, order_id

    @classmethod
    def keep(cls, waiting: "_Waiting") -> str:
        key = secrets.token_urlsafe(16)
        cls._kept[key] = waiting
        loop = asyncio.get_running_loop()

        def ended(approval: asyncio.Future) -> None:
            if not approval.cancelled():
                approval.exception()  # seen: a tab that never comes back logs no warning
            loop.call_later(FORGET_AFTER_S, cls._kept.pop, key, None)

        waiting.approval.add_done_callback(ended)
        return key

    @classmethod
    def take(cls, key: str) -> "_Waiting | None":
        return cls._kept.pop(key, None) if key else None

    def still_shown(self, state: "RefundDialogState") -> bool:
        """The tab's dialog still waits for this approval (busy on its order)."""
        return (state.busy and state.open and state._view().step == CONFIRM
                and (state._kind, state._order_id) == (self.kind, self.order_id))


def _valid_order(kind, order_id) -> bool:
    """Event arguments arrive as the browser sent them: a kind we know and a plausible
    id, or nothing is looked up."""
    return (isinstance(kind, str) and kind in KINDS
            and type(order_id) is int and 0 < order_id <= MAX_ORDER_ID)


class RefundDialogState(AuthState):
    """The dialog's preview and confirmation, and every handler of the dialog. The step
    and the status step live in a state of their own (``RefundStepState``, ``_view``)."""

    open: bool = False
    order_ref: str = ""
    lines: list[tuple[str, str]] = []  # (label, amount)
    final: str = ""
    final_in_currency: str = ""
    method: str = ""
    window: str = ""
    # the browser's countdown: seconds left when `window` was computed, whether the app
    # clock runs, and a number that changes with every preview read (restarts the count)
    window_seconds: int = 0
    window_ticks: bool = False
    window_stamp: int = 0
    forfeits: list[str] = []
    effects: list[str] = []  # what approval does at once, in the service's words
    destination: str = ""  # "your card (Stripe)"
    previous_final: str = ""  # the amount shown before Submit, when Submit's differs
    amount_change: str = ""  # the sentence that says so
    # step 0: the order's last refund failed
    last_failure: str = ""
    support_contact: str = ""
    support_mailto: str = ""
    can_refund: bool = False
    reason: str = ""
    error: str = ""
    notice: str = ""  # a refusal shown on the page (the dialog did not open)
    busy: bool = False
    # server-only: never sent to the browser
    _kind: str = ""
    _order_id: int = 0
    _final_cents: int = 0
    _refund_id: int = 0
    _status: str = ""
    _waiting: str = ""  # a slow confirm's approval, handed to confirm_waits (_Waiting)

    # The preview and the status are copied field by field: the view models hold money
    # the browser must not get (Preview.final_cents stays in the backend-only var).
    def _load_preview(self, account_id: int, locale: Locale, *,
                      shown_final_cents: int | None = None) -> None:
        view = billing.preview(account_id, self._kind, self._order_id,
                               shown_final_cents=shown_final_cents, locale=locale)
        self.order_ref = view.order_ref
        self.lines = list(view.lines)
        self.final, self.final_in_currency = view.final, view.final_in_currency
        self._final_cents = view.final_cents
        self.method, self.window, self.forfeits = view.method, view.window, list(view.forfeits)
        self.window_seconds, self.window_ticks = view.window_seconds, view.window_ticks
        self.window_stamp += 1
        self.can_refund, self.reason = view.can_refund, view.reason
        self.effects, self.destination = list(view.effects), view.destination
        self.previous_final, self.amount_change = view.previous_final, view.amount_change
        self.last_failure = view.last_failure
        self.support_contact, self.support_mailto = view.support_contact, view.support_mailto

    def _view(self) -> "RefundStepState":
        """The dialog's step and status: a substate, loaded with this state for each of
        its events (and in ``async with self`` of a background task)."""
        return self.substates[RefundStepState.get_name()]

    def _load_status(self, account_id: int, locale: Locale) -> None:
        self._show_status(billing.refund_status(account_id, self._refund_id, locale=locale))

    def _show_status(self, view: RefundStatusView) -> None:
        self._status = view.status
        self._view()._show(view)

    @rx.event
    def open_for(self, kind: str, order_id: int):
        """Open the dialog for one of the signed-in account's orders."""
        found = self.signed_in()
        if found is None:
            return rx.redirect("/sign-in")
        account, locale = found
        steps = self._view()
        self.open, steps.status_pending, self.notice = False, False, ""
        if not _valid_order(kind, order_id):
            log.warning("%s asked to refund a malformed order (%.40r, %.40r)",
                        account.email, kind, order_id)
            self.notice = self.say(ORDER_NOT_FOUND)
            return
        self._kind, self._order_id = kind, order_id
        steps.step, self.error, self.busy, self._refund_id = PREVIEW, "", False, 0
        try:
            self._load_preview(account.id, locale)
        except quotes.NotYourOrder:
            log.warning("%s asked to refund %s order %s that is not theirs",
                        account.email, kind, order_id)
            self.notice = self.say(ORDER_NOT_FOUND)
            return
        if self.last_failure:
            steps.step = FAILED  # the failure first, before any new preview
        self.open = True

    @rx.event
    def to_preview(self):
        """From the failure notice on to a new preview of the same order."""
        if not self.open or self._view().step != FAILED:
            return
        found = self.signed_in()
        if found is None:
            return rx.redirect("/sign-in")
        try:
            self._load_preview(found[0].id, found[1])
        except quotes.NotYourOrder:
            self.open = False
            return
        self.error, self._view().step = "", PREVIEW

    @rx.event
    def set_open(self, value: bool):
        if not value:
            return self.close()
        # the dialog opens only through open_for

    @rx.event
    def close(self):
        self.open = False
        steps = self._view()
        if steps.status_pending:  # assigned only if set: the delta carries what changed
            steps.status_pending = False
        if self._kind in KINDS:
            return self._refresh_page()

    @rx.event
    def to_confirm(self):
        if not self.open or self._view().step != PREVIEW:
            return
        found = self.signed_in()
        if found is None:
            return rx.redirect("/sign-in")
        try:
            # the amount the customer was shown: the fresh quote says if it moved since
            self._load_preview(found[0].id, found[1], shown_final_cents=self._final_cents)
        except quotes.NotYourOrder:
            self.open = False
            return
        if not self.can_refund:
            self.error = self.reason
            return
        self.error, self._view().step = "", CONFIRM

    @rx.event
    def back(self):
        steps = self._view()
        if steps.step == CONFIRM and not self.busy:
            steps.step, self.error = PREVIEW, ""

    @rx.event
    async def confirm(self):
        """The second confirmation: the server approves (or refuses) the refund and
        hands it to the provider after the commit (``refunds.request_refund``, then
        ``send_soon``); the dialog shows the status, which the browser then polls.
        Bounded work: it ends when the approval returns.

        A regular handler, not a background task, for a quick approval: it holds the
        tab's state lock from the click to the status, so a second click (or any other
        event of the tab) waits and then finds the step moved on, and the status goes
        out in the handler's own delta (no extra state round trips). The approval runs
        in a thread, so the event loop serves other tabs meanwhile.

        An approval still running after SPINNER_AFTER_S (a busy database) is handed to
        ``confirm_waits``, a background task, and this handler ends: the button spins,
        disabled, and the tab's lock is not held while the approval waits (with the
        Redis state manager, a lock held past its expiration loses the tab's state).

        The status is shown from the approval's own row (no read back); the session
        is checked again, with its Locale, inside the approval's transaction (one
        statement on its connection, at its commit, instead of a read of its own
        after it: the session a status is shown to was live when the refund was
        written; ``_SessionAtCommit``). The refund is handed to the
        sender pool only once that status is out (``_SendWhenShown``): the sender's
        work (a provider call, its transaction) would otherwise hold the interpreter
        while the customer waits for "Refunding". The host page's rows reload after."""
        if self.busy or self._view().step != CONFIRM or not self.open:
            return
        found = self.signed_in()
        if found is None:
            self.open = False
            yield rx.redirect("/sign-in")
            return
        account, locale = found
        if self.error:  # assigned only if set: the delta carries what changed
            self.error = ""
        dispatch = _SendWhenShown()
        at_commit = _SessionAtCommit(self.session_token())
        try:
            approval = asyncio.ensure_future(asyncio.to_thread(
                refunds.request_refund, account_id=account.id, kind=self._kind,
                order_id=self._order_id, preview_final_cents=self._final_cents,
                actor=account.email, dispatch=dispatch, within=at_commit))
            if not (await asyncio.wait({approval}, timeout=SPINNER_AFTER_S))[0]:
                # a slow approval: the button spins, disabled; the send goes when the
                # approval commits (the customer is already waiting)
                self.busy = True
                self._waiting = _Waiting.keep(_Waiting(
                    approval, account.id, self._kind, self._order_id))
                dispatch.release()
                yield RefundDialogState.confirm_waits
                return
            try:
                approved = await approval
            except (refunds.RefundRefused, quotes.NotYourOrder) as exc:
                self._refused(exc, account.id, locale)
                return
            if self._approved(approved, at_commit.locale_of(account.id)):
                # the status delta goes out at this yield, before the release below
                yield self._refresh_page()
        finally:
            dispatch.release()  # whatever happened meanwhile, cancelled included

    @rx.event(background=True)
    async def confirm_waits(self):
        """The rest of a slow ``confirm``: waits for its approval without the tab's
        lock, then shows the outcome as ``confirm`` would have, if the dialog still
        waits for it (closed, or opened on another order meanwhile: the page's rows
        reload instead). Takes no argument: what it waits for is named by the
        server-only ``_waiting``, so a forged call finds nothing of another tab."""
        async with self:
            waiting = _Waiting.take(self._waiting)
            self._waiting = ""
        if waiting is None:  # nothing handed over (a forged call, another worker)
            async with self:
                if self.busy and self._view().step == CONFIRM:
                    self.busy, self.open = False, False
            yield self._refresh_page()
            return
        try:
            approved = await waiting.approval
        except (refunds.RefundRefused, quotes.NotYourOrder) as exc:
            async with self:
                if waiting.still_shown(self):
                    self.busy = False
                    locale = self._still_signed_in(waiting.account_id)
                    if locale is not None:
                        self._refused(exc, waiting.account_id, locale)
            return
        except Exception:  # the approval failed: the button is usable again
            async with self:
                if waiting.still_shown(self):
                    self.busy = False
            raise
        async with self:
            if waiting.still_shown(self):
                self.busy = False
                # a slow approval: the session is read again now, after the wait
                self._approved(approved, self._still_signed_in(waiting.account_id))
        yield self._refresh_page()

    def _refused(self, exc: Exception, account_id: int, locale: Locale) -> None:
        """A refused approval: back to the preview, refreshed, with the reason."""
        self._view().step = PREVIEW
        if self.busy:  # assigned only if set: the delta carries what changed
            self.busy = False
        self.error = self.say(str(exc) if isinstance(exc, refunds.RefundRefused)
                              else ORDER_NOT_FOUND)
        try:
            self._load_preview(account_id, locale)
        except quotes.NotYourOrder:
            self.open = False

    def _approved(self, approved, locale: Locale | None) -> bool:
        """Show an approval's status in ``locale``; False (nothing shown) when that is
        None: the tab's session no longer belonged to the account (signed out
        meanwhile: the tab's next event resets its states; the approval stands and is
        sent)."""
        if locale is None:
            return False
        self._refund_id, self._view().step = approved.refund_id, STATUS
        self._show_status(billing.status_view(approved.refund, locale))
        return True

    def _still_signed_in(self, account_id: int) -> Locale | None:
        """The tab's session still belongs to the account that confirmed (signed out or
        another account signed in while the approval ran: nothing of this account is
        written into the tab): the session's Locale if so, else None."""
        return _locale_if_theirs(self.signed_in(), account_id)

    @rx.event
    def poll_status(self):
        """The open dialog's browser asks while the refund is Refunding (countdown.js
        clicks the hidden #refund-status-poll every STATUS_POLL_MS): one short read."""
        steps = self._view()
        if not (self.open and steps.step == STATUS and self._refund_id and steps.status_pending):
            steps.status_pending = False
            return
        found = self.signed_in()
        if found is None:
            self.open, steps.status_pending = False, False
            return rx.redirect("/sign-in")
        before = self._status
        try:
            self._load_status(found[0].id, found[1])
        except quotes.NotYourOrder:
            self.open, steps.status_pending = False, False
            return
        if self._status != before:
            return self._refresh_page()

    def _refresh_page(self):
        """The event that reloads the page the dialog was opened from (the host page
        named it with ``reload_rows_after_refund``), or None."""
        return _HOST_RELOADS.get(self._kind)


class RefundStepState(RefundDialogState):
    """The dialog's step and what its status step shows, in a state of their own: the
    browser re-renders every component that reads a state when that state changes, so
    the confirm's answer (the status, the step) wakes only the components that show
    them, not the preview's and the confirmation's. No handlers: RefundDialogState's
    write it (``_view``)."""

    step: str = PREVIEW
    refund_ref: str = ""
    status_label: str = ""
    status_description: str = ""
    status_color: str = "blue"
    status_final: str = ""
    status_pending: bool = False  # Refunding: the open dialog asks again
    arrival: str = ""
    changed: bool = False
    preview_final: str = ""
    settled_final: str = ""

    def _show(self, view: RefundStatusView) -> None:
        # private: Reflex makes every public method of a state an event a browser may send
        self.refund_ref = view.refund_ref
        self.status_label, self.status_description = view.label, view.description
        self.status_color, self.status_final = view.color, view.final
        self.status_pending = view.pending
        self.arrival, self.changed = view.arrival, view.changed
        self.preview_final, self.settled_final = view.preview_final, view.settled_final


# order kind -> the event of the host page that reloads its rows after a refund changes
_HOST_RELOADS: dict[str, object] = {}


def reload_rows_after_refund(kind: str, event) -> None:
    """A page that hosts the dialog for ``kind`` orders tells it what to reload (so the
    dialog needs to know no page)."""
    _HOST_RELOADS[kind] = event


def _preview_body() -> rx.Component:
    S = RefundDialogState
    return rx.vstack(
        rx.foreach(S.lines, lambda line: rx.hstack(
            rx.text(line[0], color_scheme="gray"), rx.text(line[1], weight="medium"),
            justify="between", width="100%")),
        rx.divider(),
        rx.hstack(
            rx.text(t("Final refund amount"), weight="bold"),
            rx.hstack(
                rx.text(S.final, weight="bold", size="5", id="final-amount"),
                rx.cond(S.final_in_currency != "",
                        rx.text(tf("returned as {amount}", amount=S.final_in_currency),
                                id="final-in-currency")),
                align="baseline", wrap="wrap", justify="end",
            ),
            justify="between", width="100%", align="center", wrap="wrap",
        ),
        rx.cond(S.forfeits.length() > 0,
                rx.vstack(rx.foreach(S.forfeits, lambda f: rx.text("• ", f, size="2")),
                          spacing="1", id="forfeits")),
        _effects("refund-effects"),
        rx.text(S.window, size="2", weight="medium", id="refund-window",
                custom_attrs={"data-countdown-seconds": S.window_seconds,
                              "data-countdown-runs": S.window_ticks.to(str),
                              "data-countdown-stamp": S.window_stamp,
                              # the words the browser counts down in, in the page's language
                              "data-countdown-template":
                                  t("Refund window remaining {hours}h {minutes}m")}),
        rx.callout(t(IN_FLIGHT_NOTICE), icon="info", size="1", color_scheme="gray"),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", icon="triangle_alert",
                                          id="dialog-error")),
        rx.hstack(
            rx.link(t("Refund policy & FAQ"), href="/policy", size="2", is_external=True),
            rx.spacer(),
            # the two buttons stay together when a phone's width wraps the row
            rx.hstack(
                rx.button(t("Cancel"), variant="soft", color_scheme="gray", on_click=S.close),
                rx.button(t("Submit Refund"), on_click=S.to_confirm, disabled=~S.can_refund,
                          id="submit-refund"),
                margin_left="auto",
            ),
            width="100%", align="center", wrap="wrap",
        ),
        spacing="3", width="100%",
    )


def _effects(element_id: str) -> rx.Component:
    """What approval does at once (the service's sentences), as a short list."""
    S = RefundDialogState
    return rx.cond(S.effects.length() > 0,
                   rx.vstack(rx.foreach(S.effects, lambda e: rx.text("• ", e, size="2",
                                                                     weight="medium")),
                             spacing="1", id=element_id))


def _failed_body() -> rx.Component:
    """Step 0: the order's last refund failed. Said first, with whom to contact; a new
    preview only if the customer asks for it (and the order is still refundable)."""
    S = RefundDialogState
    return rx.vstack(
        rx.callout(S.last_failure, color_scheme="red", icon="circle_x", role="alert",
                   id="last-refund-failed", width="100%"),
        rx.text(t("Support: "), rx.link(S.support_contact, href=S.support_mailto, underline="always",
                                     id="support-contact"), size="2"),
        rx.cond(S.can_refund,
                rx.text(t("This order can still be refunded: you can ask for a new refund, "
                          "or close this and wait for support."), size="2", color_scheme="gray"),
                rx.text(S.reason, size="2", color_scheme="gray", id="failed-reason")),
        rx.hstack(
            rx.button(t("Close"), variant="soft", color_scheme="gray", on_click=S.close,
                      id="close-failed"),
            rx.cond(S.can_refund,
                    rx.button(t("See a new refund preview"), on_click=S.to_preview,
                              id="continue-to-preview")),
            justify="end", width="100%", wrap="wrap",
        ),
        spacing="3", width="100%",
    )


def _confirm_body() -> rx.Component:
    S = RefundDialogState
    return rx.vstack(
        rx.text(t("Please confirm your refund"), weight="bold", size="4"),
        rx.cond(S.amount_change != "",
                rx.callout(S.amount_change, color_scheme="amber", icon="triangle_alert",
                           role="alert", id="amount-changed", width="100%")),
        rx.text(
            tf("Refund {amount} to {destination}?", amount=rx.fragment(
                rx.cond(S.previous_final != "",
                        rx.text.span(rx.el.s(S.previous_final), " ", id="previous-final",
                                     color="var(--gray-11)")),
                rx.text.strong(S.final),
                rx.cond(S.final_in_currency != "",
                        rx.text.span(" (", S.final_in_currency, ")"))),
               destination=rx.text.strong(S.destination)),
            id="confirm-text",
        ),
        _effects("confirm-effects"),
        rx.cond(S.forfeits.length() > 0,
                rx.vstack(rx.foreach(S.forfeits, lambda f: rx.text("• ", f, size="2")),
                          spacing="1", id="confirm-forfeits")),
        rx.text(t("This cannot be undone. The amount is settled with your latest usage when you "
                  "confirm."), size="2", color_scheme="gray"),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", icon="triangle_alert")),
        rx.hstack(
            rx.button(t("Back"), variant="soft", color_scheme="gray", on_click=S.back),
            rx.button(t("Confirm refund"), color_scheme="red", on_click=S.confirm,
                      loading=S.busy, id="confirm-refund"),
            justify="end", width="100%",
        ),
        spacing="3", width="100%",
    )


def _status_body() -> rx.Component:
    S, D = RefundStepState, RefundDialogState  # what it shows; the handlers
    return rx.vstack(
        # a polite live region: Refunding → Refunded (or Failed) is announced
        rx.box(
            rx.hstack(rx.text(tf("Refund {ref}", ref=S.refund_ref), weight="bold"),
                      rx.badge(S.status_label, color_scheme=S.status_color, size="2",
                               id="refund-status"),
                      justify="between", width="100%"),
            rx.text(S.status_description, id="status-description"),
            role="status", width="100%", id="status-live",
            custom_attrs={"aria-live": "polite", "aria-atomic": "true"},
        ),
        rx.hstack(rx.text(t("Amount"), color_scheme="gray"), rx.text(S.status_final, weight="bold"),
                  justify="between", width="100%"),
        rx.cond(S.arrival != "", rx.text(S.arrival, size="2", id="arrival")),
        rx.cond(S.changed, rx.callout(
            rx.text(tf("The settled amount changed: the preview showed {preview}, the settled "
                       "amount is {settled} because API calls in flight were billed after the "
                       "preview.", preview=rx.text.strong(S.preview_final),
                       settled=rx.text.strong(S.settled_final))),
            color_scheme="amber", icon="info", id="settled-changed")),
        rx.hstack(rx.button(t("Close"), on_click=D.close, id="close-dialog"), justify="end",
                  width="100%"),
        # no server loop: while Refunding, countdown.js clicks this every STATUS_POLL_MS
        rx.cond(S.status_pending,
                rx.el.button(on_click=D.poll_status, id="refund-status-poll", type="button",
                             tab_index=-1, aria_hidden="true", hidden=True,
                             custom_attrs={"data-poll-every-ms": str(STATUS_POLL_MS)})),
        spacing="3", width="100%",
    )


def refund_dialog() -> rx.Component:
    S, V = RefundDialogState, RefundStepState
    # A refusal before the dialog opens is shown on the page, not as a toast: a toast
    # sent by the server is run with eval, which the Content-Security-Policy forbids.
    notice = rx.cond(S.notice != "", rx.callout(
        S.notice, color_scheme="red", icon="triangle_alert", role="alert",
        id="dialog-notice", position="fixed", top="1em", left="50%",
        transform="translateX(-50%)", z_index="10"))
    return rx.fragment(rx.script(src=COUNTDOWN_SCRIPT), notice, rx.dialog.root(
        rx.dialog.content(
            # each step's heading takes the focus when the step changes (assets/a11y.js)
            rx.dialog.title(rx.cond(V.step == STATUS, t("Refund status"),
                                    tv("Refund {ref}", ref=S.order_ref)),
                            custom_attrs={"data-step-heading": V.step}),
            rx.match(V.step, (FAILED, _failed_body()), (PREVIEW, _preview_body()),
                     rx.fragment()),
            # The confirmation stays drawn (hidden) under the status it led to, and the
            # status step is drawn (hidden) as soon as the dialog opens: the confirm's
            # answer then only fills in text and flips two `hidden` attributes
            # (benchmarks/confirm_latency.py --split times it). Taking the confirmation
            # out removed the focused Confirm button, on which Radix's focus trap
            # focuses the dialog at once, from a mutation observer that runs before the
            # page goes on; mounting the status then cost ~2.5 ms more; a `display`
            # style per step made emotion write a new CSS rule. Hidden, a step is out of
            # the accessibility tree and the tab order (assets/a11y.js then puts the
            # focus on the status's heading), and the status's live region is in place
            # before it speaks.
            rx.cond((V.step == CONFIRM) | (V.step == STATUS),
                    rx.el.div(_confirm_body(), hidden=V.step != CONFIRM, id="confirm-step")),
            rx.el.div(_status_body(), hidden=V.step != STATUS, id="status-step"),
            max_width="520px", id="refund-dialog",
        ),
        open=S.open,
        on_open_change=S.set_open,
    ))
