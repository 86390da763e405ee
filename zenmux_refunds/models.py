"""The database tables (SQLModel), shared by the services and by Alembic.

Conventions:
- money is an integer: ``*_cents`` are USD cents, ``*_micros`` are micro-dollars
  (credits and usage), ``*_minor`` are minor units of the row's currency;
  amounts that can exceed 2**31 use BIGINT;
- every instant is an aware UTC datetime (SQLModel's UTCDateTime);
- uniqueness and references are enforced by the database, not only by code.

Only the services write to these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

MONEY = sa.BigInteger


def money_field(default: int = 0, **kwargs) -> int:
    return Field(default=default, sa_type=MONEY, nullable=False, **kwargs)


class Account(SQLModel, table=True):
    """A customer or a support agent, with the plan and the running usage totals."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=64)
    email: str = Field(unique=True, index=True, max_length=254)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="customer", max_length=16)  # customer | support
    # Demo mode's one-click sign-in accepts only these. Set from a scenario (default true
    # there); the database default is false, so an account made any other way never is.
    demo_persona: bool = Field(default=False, nullable=False,
                               sa_column_kwargs={"server_default": sa.false()})
    # Running totals of all usage ever recorded, by what it was billed to. The usage
    # "since a payment" is the difference between these and the mark on the payment.
    usage_credits_micros: int = money_field()
    usage_subscription_micros: int = money_field()
    # Bumped by every money-changing service as its first write: the per-account lock.
    lock_version: int = Field(default=0, nullable=False)
    created_at: datetime
    # The language the customer reads the app and the e-mails in (i18n.LANGUAGES: "en",
    # "zh-CN"); written only through services.preferences.set_language, which checks it.
    language: str = Field(default="en", max_length=16, nullable=False,
                          sa_column_kwargs={"server_default": "en"})


class Wallet(SQLModel, table=True):
    """Stored balances of an account; always equal to the sum of its ledger entries."""

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    topup_micros: int = money_field()
    bonus_micros: int = money_field()


class CurrentPlan(SQLModel, table=True):
    """The account's plan now; ``payment_id`` names the payment whose cycle gives it
    (None on the Free plan)."""

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    plan: str = Field(default="Free", max_length=16)
    payment_id: Optional[int] = Field(
        default=None, foreign_key="subscriptionpayment.id", nullable=True
    )
    updated_at: datetime


class SubscriptionPayment(SQLModel, table=True):
    """One payment of a Builder Plan; it opens a 30-day billing cycle at ``paid_at``."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    plan: str = Field(max_length=16)  # Pro | Max | Ultra
    amount_cents: int = money_field()
    currency: str = Field(default="USD", max_length=3)
    channel: str = Field(default="stripe", max_length=32)
    status: str = Field(max_length=16)  # paid | pending | failed | canceled
    gift: bool = Field(default=False)
    paid_at: datetime
    cycle_ends_at: datetime
    # account.usage_subscription_micros when this payment was recorded
    usage_mark_micros: int = money_field()
    sandbox_outcome: str = Field(default="succeed", max_length=16)
    provider_payment_id: Optional[str] = Field(default=None, max_length=255)
    provider_subscription_id: Optional[str] = Field(default=None, max_length=255)
    lock_version: int = Field(default=0, nullable=False)


class TopupOrder(SQLModel, table=True):
    """A Pay-As-You-Go top-up: credits bought in USD, charged in some currency."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount_cents: int = money_field()  # credits bought (USD)
    charged_currency: str = Field(default="USD", max_length=3)
    charged_minor: int = money_field()
    channel: str = Field(max_length=32)  # stripe | antom | anything else
    status: str = Field(max_length=16)  # paid | pending | failed | canceled
    paid_at: datetime
    bonus_micros: int = money_field()  # Discount bonus granted with the order
    # account.usage_credits_micros when this order was recorded
    usage_mark_micros: int = money_field()
    sandbox_outcome: str = Field(default="succeed", max_length=16)
    provider_payment_id: Optional[str] = Field(default=None, max_length=255)
    lock_version: int = Field(default=0, nullable=False)


class Grant(SQLModel, table=True):
    """Bonus & compensation credits: discount (with an order), gift, referral, insurance."""

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16)  # discount | gift | referral | insurance
    amount_micros: int = money_field()
    at: datetime
    order_id: Optional[int] = Field(default=None, foreign_key="topuporder.id", nullable=True)
    forfeited_micros: int = money_field()


class ReferralReward(SQLModel, table=True):
    """A $5 reward for the referrer of a top-up; pending until the order's window closes."""

    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="topuporder.id", unique=True)
    referrer_id: int = Field(foreign_key="account.id", index=True)
    amount_micros: int = money_field()
    status: str = Field(default="pending", max_length=16)  # pending | granted | revoked
    due_at: datetime  # the order's window end: granted from then on
    grant_id: Optional[int] = Field(default=None, foreign_key="grant.id", nullable=True)
    revoked_by_refund_id: Optional[int] = Field(default=None, foreign_key="refund.id",
                                                nullable=True)
    updated_at: datetime


class UsageRecord(SQLModel, table=True):
    """One billed API call. ``call_id`` makes a repeated report count once."""

    id: Optional[int] = Field(default=None, primary_key=True)
    call_id: str = Field(unique=True, max_length=128)
    account_id: int = Field(foreign_key="account.id", index=True)
    at: datetime
    amount_micros: int = money_field()
    billed_to: str = Field(max_length=16)  # credits | subscription
    # the account's running total for billed_to right after this record
    running_total_micros: int = money_field()
    recorded_at: datetime


class LedgerEntry(SQLModel, table=True):
    """One signed movement of a wallet bucket; the wallet equals their sum."""

    __table_args__ = (sa.Index("ix_ledger_account_at", "account_id", "at", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    at: datetime
    bucket: str = Field(max_length=8)  # topup | bonus
    amount_micros: int = money_field()
    # topup | discount | gift | referral | insurance | usage | adjustment | refund |
    # refund_reversal | forfeit | forfeit_reversal | clawback | clawback_reversal
    kind: str = Field(max_length=24)
    description: str = Field(default="", max_length=500)
    order_id: Optional[int] = Field(default=None, foreign_key="topuporder.id", nullable=True)
    refund_id: Optional[int] = Field(default=None, foreign_key="refund.id", nullable=True)
    grant_id: Optional[int] = Field(default=None, foreign_key="grant.id", nullable=True)
    usage_id: Optional[int] = Field(default=None, foreign_key="usagerecord.id", nullable=True)


class Refund(SQLModel, table=True):
    """A refund of one order. ``open_key`` is set while the refund blocks another one
    (Refunding, a full refund that ended Refunded, or one the provider paid after we
    closed it) and is unique, so the database itself refuses a second open refund of
    the same order."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    order_kind: str = Field(max_length=16)  # subscription | topup
    subscription_payment_id: Optional[int] = Field(
        default=None, foreign_key="subscriptionpayment.id", nullable=True, index=True
    )
    topup_order_id: Optional[int] = Field(
        default=None, foreign_key="topuporder.id", nullable=True, index=True
    )
    kind: str = Field(default="full", max_length=8)  # full | partial
    status: str = Field(max_length=16)  # refunding | refunded | failed | canceled
    open_key: Optional[str] = Field(default=None, unique=True, nullable=True, max_length=64)
    usage_cents: int = money_field()
    gross_cents: int = money_field()  # credit value released (refundable)
    fee_cents: int = money_field()
    final_cents: int = money_field()
    currency: str = Field(default="USD", max_length=3)
    final_minor: int = money_field()  # what the customer receives, in `currency`
    preview_final_cents: Optional[int] = Field(default=None, sa_type=MONEY, nullable=True)
    idempotency_key: str = Field(unique=True, max_length=64)
    source: str = Field(default="self", max_length=16)  # self | email | scenario | support
    requested_at: datetime
    settled_at: Optional[datetime] = Field(default=None, nullable=True)
    # wall-clock time the provider was first asked (None: approved, not yet sent)
    submitted_at: Optional[datetime] = Field(default=None, nullable=True)
    # wall-clock time of the last exchange with the provider (reconciler pacing)
    checked_at: Optional[datetime] = Field(default=None, nullable=True)
    # while a process is talking to the provider about this refund (wall clock): others
    # keep off until the call ends or this passes (a crashed caller's lease expires)
    lease_until: Optional[datetime] = Field(default=None, nullable=True)
    # how many times the provider was asked about it after the first submission
    inquiries: int = Field(default=0, nullable=False,
                           sa_column_kwargs={"server_default": sa.text("0")})
    provider_refund_id: Optional[str] = Field(default=None, max_length=255)
    plan_restorable: bool = Field(default=False)  # subscription: the plan it downgraded
    # Needs attention: a fact the status cannot tell, for support to act on
    # (domain.vocabulary.Attention): "paid_after_close" — the provider reported it paid
    # while we hold it Canceled or Failed (its effects reversed); "stuck" — still
    # Refunding after too many inquiries or too long; "requires_action" — the provider
    # waits for someone to act. ``attention_resolved_at`` is when support marked it
    # resolved, or when a stuck / requires_action refund ended (None: still to look at).
    attention: Optional[str] = Field(default=None, nullable=True, max_length=32)
    attention_at: Optional[datetime] = Field(default=None, nullable=True)
    attention_resolved_at: Optional[datetime] = Field(default=None, nullable=True)


class RefundEvent(SQLModel, table=True):
    """The audit trail: every status change and provider exchange of a refund."""

    id: Optional[int] = Field(default=None, primary_key=True)
    refund_id: int = Field(foreign_key="refund.id", index=True)
    at: datetime
    actor: str = Field(max_length=254)  # account email, "system", "provider:<name>"
    action: str = Field(max_length=32)
    from_status: Optional[str] = Field(default=None, max_length=16)
    to_status: Optional[str] = Field(default=None, max_length=16)
    detail: str = Field(default="", sa_type=sa.Text)


class EmailRequest(SQLModel, table=True):
    """A refund requested by e-mail (Option 3), reviewed by support."""

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    contact: str = Field(max_length=254)  # the e-mail / account ID the customer gave
    purchase_at: datetime  # as entered, minute precision, UTC
    amount_cents: int = money_field()
    unused_balance: str = Field(default="", max_length=64)  # as the customer stated it
    reason: str = Field(sa_type=sa.Text)
    submitted_at: datetime  # the 24-hour rule counts at this instant
    review_due_at: datetime  # 7 business days later
    order_kind: Optional[str] = Field(default=None, max_length=16)
    subscription_payment_id: Optional[int] = Field(
        default=None, foreign_key="subscriptionpayment.id", nullable=True)
    topup_order_id: Optional[int] = Field(default=None, foreign_key="topuporder.id",
                                          nullable=True)
    status: str = Field(default="pending", max_length=16)  # pending | approved | denied
    decided_by: Optional[str] = Field(default=None, max_length=254)
    decided_at: Optional[datetime] = Field(default=None, nullable=True)
    decision_note: str = Field(default="", max_length=1000)  # the denial reason
    refund_id: Optional[int] = Field(default=None, foreign_key="refund.id", nullable=True)


class AuthSession(SQLModel, table=True):
    """A server-side sign-in session; the browser holds only the token."""

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime
    expires_at: datetime
    revoked: bool = Field(default=False)
    # The browser's time zone (an IANA name, checked by services.preferences): the times
    # this session's pages show are in it, with the UTC instant one hover away.
    time_zone: str = Field(default="UTC", max_length=64, nullable=False,
                           sa_column_kwargs={"server_default": "UTC"})


class ClockSetting(SQLModel, table=True):
    """The demo clock (one row, id 1): the scenario's instant, when it was loaded in real
    time, and the offset a reviewer moved it forward by."""

    id: int = Field(default=1, primary_key=True)
    anchor_at: Optional[datetime] = Field(default=None, nullable=True)
    anchored_real_at: Optional[datetime] = Field(default=None, nullable=True)
    offset_seconds: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    scenario_name: str = Field(default="", max_length=255)
    scenario_json: str = Field(default="", sa_type=sa.Text)


class OutboxMail(SQLModel, table=True):
    """A mail to send: written in the transaction of the change it tells about (the
    transactional outbox), sent after the commit by the background pass. ``key`` names
    the event (``refund:12:approved``) and is unique, so one event makes one mail even
    if its transaction is retried. ``message_id`` is fixed when the row is written: a
    resend after a crash carries the same Message-ID header.

    ``created_at`` is the app's clock (the demo clock in the demo); the sending
    columns (``next_attempt_at``, ``lease_until``, ``sent_at``) are the wall clock."""

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=128)
    account_id: int = Field(foreign_key="account.id", index=True)
    to: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    text: str = Field(sa_type=sa.Text)
    html: str = Field(sa_type=sa.Text)
    message_id: str = Field(unique=True, max_length=255)
    created_at: datetime
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime
    last_error: Optional[str] = Field(default=None, nullable=True, max_length=1000)
    # while a process is handing this mail to SMTP; others keep off until it passes
    lease_until: Optional[datetime] = Field(default=None, nullable=True)
    sent_at: Optional[datetime] = Field(default=None, nullable=True, index=True)


ALL_TABLES = [
    Account,
    Wallet,
    CurrentPlan,
    SubscriptionPayment,
    TopupOrder,
    Grant,
    ReferralReward,
    UsageRecord,
    LedgerEntry,
    Refund,
    RefundEvent,
    EmailRequest,
    AuthSession,
    ClockSetting,
    OutboxMail,
]
