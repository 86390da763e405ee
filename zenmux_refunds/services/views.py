"""The view models the services hand to the UI: frozen dataclasses, display-ready.

Each names what a screen shows (a billing history row, the refund preview, an audit
line) and carries strings already formatted for it, so a page state holds them as they
are and never computes money. Reflex sends a dataclass as an object of its fields, in
field order; the field names are the keys the pages read (``row.ref``), so a row that
reaches the browser carries exactly its fields, nothing more. A view model that carries
money a page must keep on the server (``Preview.final_cents``) is never stored whole in
a sent var: the page copies the fields it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from zenmux_refunds.domain.vocabulary import OrderKind, RefundStatus

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list paginated in the database."""

    rows: list[Row]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# ------------------------------------------------------------------ shared pieces


@dataclass(frozen=True)
class StatusTag:
    """The badge beside an order's amount: its latest refund's status ("" if none)."""

    tag: str
    tag_color: str
    # the refund is Refunding: the background pass (or a provider's verdict) may still
    # change what the page shows; the same in every language, unlike ``tag``
    waiting: bool = False


NO_TAG = StatusTag(tag="", tag_color="gray")


@dataclass(frozen=True)
class RefundButton:
    """An order's Refund button: enabled, or disabled with the policy's reason."""

    can_refund: bool
    reason: str  # the refusal's exact wording; "" when refundable
    gift: bool  # a gift subscription: the disabled button has a tooltip
    email_link: bool  # not refundable online: offer the e-mail request


NO_BUTTON = RefundButton(can_refund=False, reason="", gift=False, email_link=False)


# ------------------------------------------------------------------ Subscription page


@dataclass(frozen=True)
class PlanCard:
    """The current plan card."""

    plan: str
    price: str  # "$20.00/mo"
    cycle: str  # "2026-11-01 10:00 UTC – 2026-12-01 10:00 UTC", or "—"
    usage: str  # usage this cycle, or "—"
    cycle_utc: str = ""  # the cycle in UTC, for the hover title ("" when "—")


@dataclass(frozen=True)
class HistoryRow:
    """One subscription payment in the Billing History, with its Refund button."""

    id: int
    date: str
    ref: str
    plan: str  # "Pro", or "Pro (gift)"
    amount: str
    method: str
    status: str  # the payment's status, capitalized
    tag: str
    tag_color: str
    can_refund: bool
    reason: str
    gift: bool
    email_link: bool
    # shown in place of ``reason`` when set: the muted "Expired" of an older expired row
    # (billing.ExpiredWording); ``reason`` keeps the policy's words
    reason_tag: str = ""
    date_utc: str = ""  # ``date`` in UTC, for the hover title
    waiting: bool = False  # StatusTag.waiting of ``tag``


# ------------------------------------------------------------------ Credits page


@dataclass(frozen=True)
class Balances:
    """The three balance cards."""

    total: str
    topup: str
    bonus: str


@dataclass(frozen=True)
class CreditsOverview:
    """The balance cards and the breakdown of every movement by kind."""

    balances: Balances
    breakdown: tuple[tuple[str, str], ...]  # (label, signed amount), in display order


@dataclass(frozen=True)
class TransactionRow:
    """One line of the Transactions list: a top-up order (with its Refund button) or a
    wallet movement (no button)."""

    key: str  # "order-7" / "entry-20": unique across both kinds
    id: int
    date: str
    ref: str
    amount: str
    type: str
    description: str
    is_order: bool
    tag: str
    tag_color: str
    can_refund: bool
    reason: str
    gift: bool
    email_link: bool
    # a refund's line: what was returned beside what the wallet lost ("returned $19.00")
    returned: str = ""
    # as on HistoryRow: the muted "Expired" of an older expired row, else ""
    reason_tag: str = ""
    date_utc: str = ""  # ``date`` in UTC, for the hover title
    waiting: bool = False  # StatusTag.waiting of ``tag``


@dataclass(frozen=True)
class RewardRow:
    """A referral reward the account earns as a referrer."""

    amount: str
    status: str  # capitalized: "Pending", "Granted", "Revoked" (in the customer's language)
    color: str
    description: str
    due: str
    pending: bool = False  # not granted yet (what a page tests: ``status`` is translated)
    due_utc: str = ""  # ``due`` in UTC, for the hover title


# ------------------------------------------------------------------ the refund dialog


@dataclass(frozen=True)
class Preview:
    """The refund dialog's preview of one order. ``final_cents`` is for the server only
    (the amount the customer confirmed): a page keeps it in a backend var."""

    kind: OrderKind
    order_id: int
    order_ref: str
    lines: tuple[tuple[str, str], ...]  # (label, amount) rows above the final amount
    final: str
    final_in_currency: str  # "CNY 677.08" when charged in another currency, else ""
    final_cents: int
    method: str
    window: str
    window_seconds: int  # whole seconds left in the window, for the browser's countdown
    window_ticks: bool  # whether the app clock moves (a frozen clock keeps the text)
    forfeits: tuple[str, ...]
    can_refund: bool
    reason: str
    # What approval does at once, in words (subscription: the plan drops to Free; top-up:
    # the top-up credits leave the wallet), said before it happens: preview and confirmation.
    effects: tuple[str, ...] = ()
    # Where the money goes, named as the customer knows it: "your card (Stripe)". Nothing
    # stored names the card's brand or last 4 digits (see billing.destination_label).
    destination: str = ""
    # The amount the customer was shown before this read, when it differs ("" if not):
    # "$15.71", and the sentence that says so.
    previous_final: str = ""
    amount_change: str = ""
    # The order's last refund failed: said before any new preview ("" if it did not).
    last_failure: str = ""
    support_contact: str = ""
    support_mailto: str = ""
    paid_at_utc: str = ""  # a top-up's "Payment time" line in UTC, for the hover title


@dataclass(frozen=True)
class RefundStatusView:
    """A refund's status as the dialog and the customer's requests show it."""

    refund_id: int
    refund_ref: str
    status: RefundStatus
    pending: bool  # not final yet: the dialog asks again
    label: str
    description: str
    color: str
    final: str
    arrival: str
    changed: bool  # the settled amount differs from the preview's
    preview_final: str
    settled_final: str


# ------------------------------------------------------------------ e-mail requests


@dataclass(frozen=True)
class RequestRow:
    """An e-mail refund request, as its customer and support see it."""

    id: int
    ref: str
    account: str  # the customer's e-mail on support's list; "" on the customer's own
    purchase_at: str
    amount: str
    reason: str
    balance: str
    order: str  # the matched order's ref, or "no matching order"
    matched: bool
    submitted: str
    due: str
    overdue: bool
    status: str  # capitalized: "Pending", "Approved", "Denied"
    note: str
    refund_ref: str
    refund_status: str
    refund_color: str
    submitted_utc: str = ""  # ``submitted`` and ``due`` in UTC, for the hover titles
    due_utc: str = ""


# ------------------------------------------------------------------ support console


@dataclass(frozen=True)
class ConsoleRefundRow:
    """A refund in the support console, with the actions it allows."""

    id: int
    ref: str
    account: str
    order: str
    final: str
    status: str
    color: str
    source: str
    requested: str
    needs_attention: bool
    can_retry: bool
    can_cancel: bool
    can_pay_out: bool


@dataclass(frozen=True)
class AuditLine:
    """One event of a refund's audit trail."""

    at: str
    actor: str
    action: str
    change: str  # "refunding → failed", or ""
    detail: str


# ------------------------------------------------------------------ Support console


@dataclass(frozen=True)
class ActionCheck:
    """What support reads before an action takes effect: who, which order, and the
    amounts the action will move (refundable, fee, returned, in the charged currency)."""

    action: str  # approve | deny | cancel | payout | retry
    target_id: int
    title: str  # "Cancel RF-4001?"
    customer: str  # "Rita (rita@example.com)"
    order: str  # "TOP-4001 · $20.00 · Card (Stripe)"
    lines: list[tuple[str, str]]  # (label, amount), in reading order
    note: str  # what happens next, or why the approval will be refused
    confirm_label: str  # the Confirm button's words
    needs_reason: bool  # deny: the customer reads the reason


# ------------------------------------------------------------------ Email request


@dataclass(frozen=True)
class OrderChoice:
    """One of the customer's orders in the request form's picker."""

    value: str  # "topup:7": what the picker sends back
    label: str  # "TOP-3004 · Top-up · 2026-11-26 10:00 UTC · $10.00 · Bank transfer"
    purchase_at: str  # "2026-11-26 10:00", as the form's field takes it
    amount: str  # "10.00"


# ------------------------------------------------------------------ the refund record


@dataclass(frozen=True)
class RefundRecordRow:
    """One of the customer's refunds in a page's Refunds section: what was asked, what
    the platform kept and what went back, in words and amounts ready to show. ``id`` is
    the refund's (the customer's own), for opening its timeline."""

    id: int
    ref: str  # "RF-…"
    order_ref: str
    requested: str  # "2026-11-26 12:00 UTC"
    refundable: str  # the credit value the refund released: "$16.54"
    fee: str
    returned_label: str  # "Amount returned", "Amount to be returned", "Not returned", …
    returned: str  # what goes back, in USD: "$15.71"
    returned_in_currency: str  # "CNY 677.08" when charged in another currency, else ""
    tag: str
    tag_color: str
    arrival: str  # "Expected between … and …" while Refunding, else ""
    receipt_url: str  # the credit note (PDF)
    requested_utc: str = ""  # ``requested`` in UTC, for the hover title
    waiting: bool = False  # StatusTag.waiting of ``tag``


@dataclass(frozen=True)
class TimelineEvent:
    """One customer-safe step of a refund's life: when, and what happened in words."""

    at: str
    text: str
    kind: str  # approved | changed | sent | refunded | failed | canceled | review
    at_utc: str = ""  # ``at`` in UTC, for the hover title


@dataclass(frozen=True)
class RefundTimeline:
    """A refund as its customer opens it: the record's row and its timeline, oldest
    first. Never support's notes, e-mails, provider texts or ids."""

    row: RefundRecordRow
    events: tuple[TimelineEvent, ...]
