"""The refund lifecycle (SPEC §2.5), owned here from request to the last verdict.

Read it top to bottom:

1. ``request_refund`` is the one way a refund is made (the customer's second
   confirmation, support approving an e-mail request, support retrying a Failed
   refund): ``approve`` in one transaction, then, after the commit, hand the refund to
   its provider with a *dispatch* strategy (``send_now`` waits for the provider's
   first answer; ``send_soon`` hands it to a small pool and returns at once). A crash
   between the commit and the call loses nothing: the reconciler sends what was never
   sent.
2. ``send`` talks to the provider under a lease; ``finish`` applies a final verdict;
   ``requires_action`` flags a refund the provider cannot pay until someone acts;
   ``cancel``, ``record_payout`` and ``resolve_attention`` are support's and the
   customer's own transitions.
3. ``process_refunding`` is the background pass: it sends and inquires what is still
   Refunding, asking a provider by its capabilities (``polled``: at every pass;
   ``paid_by_hand``: never), and escalates refunds that stay Refunding too long
   (``escalate_stuck``).

Approval happens in one transaction under the account's lock: the quote is recomputed
with the latest usage (the settled amount), eligibility is checked again, the Refund
row is created in Refunding (its unique ``open_key`` makes a second open refund of the
order impossible even past the lock), and the effects are applied — downgrade to Free
for a subscription; for a top-up the wallet debit, the forfeited Discount bonus and the
revoked referral reward. The provider is called after the commit, with our idempotency
key. Failed or Canceled reverses every effect, exactly, from the ledger entries the
refund wrote. Every change is in the refund's audit trail.

Every transition (approve, send's marking, finish, cancel, retry, record_payout,
resolve_attention) locks the accounts the refund touches, then checks its
preconditions and applies itself in that one transaction: no decision rests on a read
made before the lock. A refund that has been sent can no longer be canceled.

A provider's "succeeded" for a refund we hold as Canceled or Failed is never dropped:
the refund keeps its status (its effects stay reversed: the ledger is not touched, so
stored balances still equal their sums) and is flagged ``attention = paid_after_close``
with the provider's evidence in the audit trail. The support console lists it under
"needs attention"; the customer sees "Under review"; the order counts as refunded, so
no further refund of it can be approved. Support decides what to do about the money
(nothing is re-debited automatically) and marks it resolved with a note, saying what
the provider's records show: paid (the order stays refunded), or not paid — a stale
"succeeded" delivered after "failed" — which releases the order.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from zenmux_refunds import clock, db, logs, metrics
from zenmux_refunds.config import settings
from zenmux_refunds.domain import money, policy
from zenmux_refunds.domain import forfeits, vocabulary
from zenmux_refunds.domain.vocabulary import (
    Attention,
    LedgerKind,
    OrderKind,
    RefundScope,
    RefundSource,
    RefundStatus,
)
from zenmux_refunds.models import (
    Account,
    CurrentPlan,
    Grant,
    LedgerEntry,
    ReferralReward,
    Refund,
    RefundEvent,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.providers import Outcome, ProviderError, RefundRequest, provider_for
from zenmux_refunds.services import ledger, mail, quotes

log = logging.getLogger(__name__)
events = logs.get_logger(__name__)  # structured lines: the refs are fields

REFUNDING, REFUNDED, FAILED, CANCELED = (RefundStatus.REFUNDING, RefundStatus.REFUNDED,
                                         RefundStatus.FAILED, RefundStatus.CANCELED)
TERMINAL = (REFUNDED, FAILED, CANCELED)
# Refund.attention: the provider paid a refund we had closed (Canceled or Failed)
PAID_AFTER_CLOSE = Attention.PAID_AFTER_CLOSE
# attentions that end by themselves when the refund ends (the provider answered)
_OPEN_WHILE_REFUNDING = (Attention.STUCK, Attention.REQUIRES_ACTION)
# kinds of ledger entries an approval writes, and the kind that undoes each
_REVERSED = tuple(kind for kind in LedgerKind if kind.reversal is not None)


class RefundRefused(ValueError):
    """The refund cannot be made; the message is what the customer is shown."""


@dataclass(frozen=True)
class Approved:
    refund_id: int
    refund_ref: str
    preview_final_cents: int | None
    quote: policy.Quote
    order_kind: str
    # the row as the approval committed it (detached): what the customer is shown at
    # once (billing.status_view) without reading it back
    refund: Refund = field(repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return (self.preview_final_cents is not None
                and self.preview_final_cents != self.quote.final_cents)


_INSERT_EVENTS = RefundEvent.__table__.insert()
_PENDING_EVENTS = "zenmux_refunds.pending_refund_events"  # key in Session.info


def audit(session: Session, refund: Refund, *, actor: str, action: str, at: datetime,
          from_status: str | None = None, to_status: str | None = None,
          detail: dict | str = "") -> None:
    """Add an event to the refund's audit trail, in the caller's transaction.

    The rows wait in the session and are written together just before it commits
    (``_write_events``), in one INSERT of them all: a transaction adds two or three
    (an approval: approved, then its effects), where the ORM's unit of work would
    make and write each as an object of its own. Nothing reads the trail in the
    transaction that writes it; a transaction that rolls back drops them with
    everything else."""
    text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)
    if refund.id is None:
        raise ValueError("audit: the refund has no id yet (flush it first)")
    session.info.setdefault(_PENDING_EVENTS, []).append(
        {"refund_id": refund.id, "at": at, "actor": actor, "action": action,
         "from_status": from_status, "to_status": to_status, "detail": text})


@sa.event.listens_for(sa.orm.Session, "before_commit")
def _write_events(session: Session) -> None:
    """The transaction's audit events (``audit``), in the order they were added: one
    INSERT of them all, just before the commit, after the session's last flush."""
    rows = session.info.pop(_PENDING_EVENTS, None)
    if rows:
        session.flush()  # the commit's own flush, first: rows they may reference
        session.connection().execute(_INSERT_EVENTS, rows)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _drop_events(session: Session) -> None:
    session.info.pop(_PENDING_EVENTS, None)


def _order_model(kind: str):
    return SubscriptionPayment if kind == OrderKind.SUBSCRIPTION else TopupOrder


def _reward_of(session: Session, kind: str, order_id: int) -> sa.Row | None:
    """The top-up's referral reward (a read-only row; see quotes), or None."""
    if kind != OrderKind.TOPUP:
        return None
    return quotes.order_reward(session, order_id)


# ------------------------------------------------------------------------ request

# How an approved refund reaches its provider once the approval is committed.
Dispatch = Callable[[int], object]
# Within the approval's transaction, under its lock: (session, the new refund, now).
# Raising RefundRefused there undoes the whole approval.
Within = Callable[[Session, Refund, datetime], None]


def request_refund(*, account_id: int, kind: str, order_id: int, actor: str,
                   preview_final_cents: int | None = None,
                   source: str = RefundSource.SELF, window_at: datetime | None = None,
                   via_support: bool = False, retry_of: int | None = None,
                   within: Within | None = None, dispatch: Dispatch) -> Approved:
    """The one use case from request to dispatch: approve the refund in one
    transaction (see ``approve``; ``within`` runs inside it, e.g. an e-mail request
    becoming Approved), then — after the commit, never before — hand it to the provider
    with ``dispatch`` (``send_now`` or ``send_soon``). Raises what ``approve`` raises;
    a provider that cannot be reached is the reconciler's business, not the caller's.
    """
    approved = approve(account_id=account_id, kind=kind, order_id=order_id,
                       preview_final_cents=preview_final_cents, actor=actor, source=source,
                       window_at=window_at, via_support=via_support, retry_of=retry_of,
                       within=within)
    dispatch(approved.refund_id)
    return approved


def send_now(refund_id: int) -> str:
    """Dispatch: ask the provider now, in this thread, and return the refund's status.
    An unexpected error is logged, not raised: the refund is approved and committed,
    and the reconciler asks again."""
    try:
        return send(refund_id)
    except Exception:  # noqa: BLE001 - the approval stands; the reconciler retries
        log.exception("sending refund %s failed; the reconciler will retry", refund_id)
        return REFUNDING


_SENDERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="refund-send")


def send_soon(refund_id: int) -> None:
    """Dispatch: hand the refund to a small pool of senders and return at once (the
    customer's dialog shows Refunding and watches the status). If the process dies
    first, the reconciler sends it."""
    _SENDERS.submit(send_now, refund_id)


# ------------------------------------------------------------------------ approve


def approve(*, account_id: int, kind: str, order_id: int, preview_final_cents: int | None,
            actor: str, source: str = RefundSource.SELF, window_at: datetime | None = None,
            via_support: bool = False, retry_of: int | None = None,
            within: Within | None = None) -> Approved:
    """``_approve``, counted and logged: a refusal counts by its reason (metrics); an
    approval, once committed, writes one structured line with its refs."""
    refs: dict[str, str] = {}
    try:
        approved = _approve(account_id=account_id, kind=kind, order_id=order_id,
                            preview_final_cents=preview_final_cents, actor=actor,
                            source=source, window_at=window_at, via_support=via_support,
                            retry_of=retry_of, within=within, refs=refs)
    except RefundRefused as exc:
        metrics.approval_refused(str(exc))
        refs.pop("refund_ref", None)  # rolled back: no such refund
        with logs.bound(**refs):
            events.info("refund refused", reason=str(exc), order_kind=kind)
        raise
    with logs.bound(**refs):
        events.info("refund approved", order_kind=kind, source=str(source),
                    final_cents=approved.quote.final_cents,
                    usage_cents=approved.quote.usage_cents,
                    fee_cents=approved.quote.fee_cents)
    return approved


def _approve(*, account_id: int, kind: str, order_id: int, preview_final_cents: int | None,
             actor: str, source: str, window_at: datetime | None, via_support: bool,
             retry_of: int | None, within: Within | None, refs: dict[str, str]) -> Approved:
    """Approve the refund of ``account_id``'s order (the customer's second
    confirmation, or support approving a request), in one transaction. Nothing is sent:
    ``request_refund`` dispatches it after the commit.

    ``window_at``: judge the 24-hour window at that instant (an e-mail request's
    submission, a failed refund's original request) instead of now; usage is always
    the latest. ``via_support``: support may refund channels that cannot be refunded
    online (paid out manually). ``retry_of``: the Failed refund of the same order this
    one retries; it must still be Failed (and not paid after all) under the lock.
    ``within``: more work of the same transaction, under the same lock (see Within).
    Raises quotes.NotYourOrder when the order is not the account's, RefundRefused when
    it is not eligible.
    """
    if kind not in (OrderKind.SUBSCRIPTION, OrderKind.TOPUP):
        raise quotes.NotYourOrder(f"unknown order kind {kind!r}")
    try:
        with db.transaction() as s:
            # The referrer never changes: read it first so that both accounts are locked
            # in one fixed order (no deadlock with a concurrent approval of theirs).
            reward = _reward_of(s, kind, order_id)
            ledger.lock_accounts(s, {account_id} | ({reward.referrer_id} if reward else set()))
            account = s.get(Account, account_id)
            if account is not None:
                refs["account_ref"] = account.ref
            now = clock.now(s)
            retried = _check_retry(s, retry_of, account_id, kind, order_id)
            view = quotes.quote_order(s, account, kind, order_id, window_at or now,
                                      via_support=via_support, reward=reward)
            decision, order = view.decision, view.order
            if order is not None:
                refs["order_ref"] = order.ref
            if not decision.eligible:
                raise RefundRefused(decision.reason.value)
            q = decision.quote
            plan = s.get(CurrentPlan, account.id) if kind == OrderKind.SUBSCRIPTION else None
            refund = Refund(
                ref=f"RF-{secrets.token_hex(4).upper()}",
                account_id=account.id, order_kind=kind,
                subscription_payment_id=order.id if kind == OrderKind.SUBSCRIPTION else None,
                topup_order_id=order.id if kind == OrderKind.TOPUP else None,
                kind=RefundScope.FULL, status=REFUNDING, open_key=f"{kind}:{order.id}",
                usage_cents=q.usage_cents, gross_cents=q.refundable_cents,
                fee_cents=q.fee_cents, final_cents=q.final_cents,
                currency=q.charged_currency, final_minor=q.final_charged_minor,
                preview_final_cents=preview_final_cents,
                idempotency_key=f"zr_{uuid.uuid4().hex}", source=source, requested_at=now,
                # the plan this payment gives is dropped to Free now (see _downgrade)
                plan_restorable=plan is not None and plan.payment_id == order.id,
            )
            _insert_refund(s, refund)
            refs["refund_ref"] = refund.ref
            audit(s, refund, actor=actor, action="approved", at=now, to_status=REFUNDING,
                  detail={"preview_final_cents": preview_final_cents,
                          "settled_final_cents": q.final_cents, "usage_cents": q.usage_cents,
                          "gross_cents": q.refundable_cents, "fee_cents": q.fee_cents,
                          "currency": q.charged_currency, "final_minor": q.final_charged_minor,
                          # what the credit note cannot derive from the stored amounts
                          # alone (the percentage: small amounts fit several)
                          "paid_cents": q.paid_cents, "fee_percent": q.fee_percent,
                          "already_refunded_cents": q.already_refunded_cents})
            if kind == OrderKind.SUBSCRIPTION:
                _downgrade(s, plan, order, refund, now)
            else:
                apply_topup_effects(s, account.id, order, refund, reward, now, view)
            if retried is not None:
                audit(s, refund, actor=actor, action="retry_of", at=now,
                      detail=f"retry of {retried.ref}")
            # the outbox: sent only if this commits
            mail.refund_approved(s, refund, now=now, order=order)
            if within is not None:
                within(s, refund, now)
            return Approved(refund.id, refund.ref, preview_final_cents, q, kind, refund)
    except sa.exc.IntegrityError:
        # Another approval of the same order won the race past our lock (open_key).
        raise RefundRefused(policy.Reason.IN_PROGRESS.value) from None


_REFUNDS = Refund.__table__
_INSERT_REFUND = _REFUNDS.insert()


def _insert_refund(s: Session, refund: Refund) -> None:
    """Write the new refund with one INSERT on the session's connection and give it its
    id. It stays out of the session (the approval hands it back detached anyway): the
    ORM's flush of a new object costs more than the statement it sends. A second open
    refund of the order still fails here, on ``open_key`` (IntegrityError)."""
    values = {}
    for column in _REFUNDS.columns:
        value = getattr(refund, column.key)
        if value is None and (column.primary_key or column.server_default is not None):
            continue  # the database's own: the id, server defaults
        values[column.key] = value
    result = s.connection().execute(_INSERT_REFUND, values)
    refund.id = result.inserted_primary_key[0]


def _check_retry(s: Session, retry_of: int | None, account_id: int, kind: str,
                 order_id: int) -> Refund | None:
    """The Failed refund being retried, read under the lock (None: not a retry)."""
    if retry_of is None:
        return None
    failed = s.get(Refund, retry_of)
    if failed is not None:
        s.refresh(failed)
    if (failed is None or failed.account_id != account_id or failed.order_kind != kind
            or (failed.subscription_payment_id or failed.topup_order_id) != order_id
            or failed.status != FAILED or failed.attention == PAID_AFTER_CLOSE):
        raise RefundRefused("Only a Failed refund can be retried.")
    return failed


def approve_on_behalf(*, actor: str, account_id: int, kind: str, order_id: int,
                      window_at: datetime, source: str,
                      retry_of: int | None = None) -> Approved:
    """Support approves a refund the customer asked for (an e-mail request, a retry of a
    Failed refund): the window is judged when the customer asked, any channel may be
    refunded (by hand where no provider can), and there is no preview to compare.
    The approval only; ``request_refund(via_support=True, …)`` also dispatches it."""
    return approve(account_id=account_id, kind=kind, order_id=order_id,
                   preview_final_cents=None, actor=actor, source=source,
                   window_at=window_at, via_support=True, retry_of=retry_of)


def retry(failed_id: int, *, actor: str, dispatch: Dispatch = send_now) -> Approved:
    """Support retries a Failed refund: a new refund of the same order, its window
    judged at the failed refund's request (the customer asked in time), dispatched
    like any other. Whether it is still Failed is checked again under the lock, in
    the approval's transaction."""
    with db.reading() as s:  # who and what: facts that never change
        failed = s.get(Refund, failed_id)
    if failed is None or failed.status != FAILED:
        raise RefundRefused("Only a Failed refund can be retried.")
    return request_refund(
        actor=actor, account_id=failed.account_id, kind=failed.order_kind,
        order_id=failed.subscription_payment_id or failed.topup_order_id,
        window_at=failed.requested_at, source=RefundSource.SUPPORT, via_support=True,
        retry_of=failed.id, dispatch=dispatch)


def _downgrade(s: Session, plan: CurrentPlan | None, order: SubscriptionPayment,
               refund: Refund, now: datetime) -> None:
    """Drop the plan this payment gives to Free. ``plan``: the account's CurrentPlan,
    read under the lock before the refund was written (which then was written with
    ``plan_restorable`` already set: one UPDATE fewer)."""
    if plan is not None and plan.payment_id == order.id:
        db.write_through(s, plan, CurrentPlan.__table__,
                         {"plan": "Free", "payment_id": None, "updated_at": now})
        audit(s, refund, actor="system", action="plan_downgraded", at=now,
              detail=f"{order.plan} -> Free")


def apply_topup_effects(s: Session, account_id: int, order: TopupOrder, refund: Refund,
                        reward: ReferralReward | None, now: datetime,
                        view: quotes.OrderQuote | None = None) -> None:
    """Debit the refundable amount, forfeit the order's Discount bonus (up to what is
    left), revoke its referral reward (clawing back a granted one). ``view``: the quote
    read under the same lock, whose Discount grant is then not read again."""
    ledger.post(s, account_id=account_id, bucket=ledger.TOPUP,
                amount_micros=-money.cents_to_micros(refund.gross_cents), kind=LedgerKind.REFUND,
                at=now, description=f"Refund {refund.ref} of {order.ref}",
                order_id=order.id, refund_id=refund.id)
    grant, left = (quotes.discount_left(s, order) if view is None
                   else quotes.discount_left(s, order, grant=view.discount_grant))
    if grant is not None:
        if left > 0:
            ledger.post(s, account_id=account_id, bucket=ledger.BONUS, amount_micros=-left,
                        kind=LedgerKind.FORFEIT, at=now,
                        description=f"Discount bonus of {order.ref} forfeited",
                        order_id=order.id, refund_id=refund.id, grant_id=grant.id)
            db.write_through(s, grant, Grant.__table__,
                             {"forfeited_micros": grant.forfeited_micros + left}, key="id")
        audit(s, refund, actor="system", action="bonus_forfeited", at=now,
              detail={"discount_micros": grant.amount_micros, "forfeited_micros": left})
    if reward is not None and reward.status in forfeits.REVOCABLE:
        clawed = 0
        if reward.status == vocabulary.RewardStatus.GRANTED:
            bonus = ledger.balances(s, reward.referrer_id).bonus_micros
            clawed = forfeits.reward_clawback(reward_micros=reward.amount_micros,
                                              referrer_bonus_micros=bonus)
            if clawed > 0:
                ledger.post(s, account_id=reward.referrer_id, bucket=ledger.BONUS,
                            amount_micros=-clawed, kind=LedgerKind.CLAWBACK, at=now,
                            description=f"Referral reward for {order.ref} clawed back",
                            refund_id=refund.id, grant_id=reward.grant_id)
        audit(s, refund, actor="system", action="referral_revoked", at=now,
              detail={"was": reward.status, "clawed_back_micros": clawed})
        db.write_through(s, reward, ReferralReward.__table__, {
            "status": vocabulary.RewardStatus.REVOKED, "revoked_by_refund_id": refund.id,
            "updated_at": now}, key="id")


# ------------------------------------------------------------------------ finish


def _lock_for_refund(s: Session, refund_id: int, *, owner: int | None = None) -> Refund:
    """Lock the accounts a refund touches, then read it again under the lock.

    ``owner``: the refund must be that account's (else quotes.NotYourOrder, before any
    lock is taken)."""
    head = s.exec(select(Refund.account_id, Refund.order_kind, Refund.topup_order_id)
                  .where(Refund.id == refund_id)).first()
    if head is None or (owner is not None and head[0] != owner):
        if owner is not None:
            raise quotes.NotYourOrder(f"no refund {refund_id} for this account")
        raise LookupError(f"no refund {refund_id}")
    account_id, kind, topup_id = head
    reward = _reward_of(s, kind, topup_id) if topup_id else None
    ledger.lock_accounts(s, {account_id} | ({reward.referrer_id} if reward else set()))
    refund = s.get(Refund, refund_id)
    s.refresh(refund)
    return refund


def _close(s: Session, refund: Refund, target: str, *, actor: str, detail: str, now: datetime,
           provider_refund_id: str | None = None) -> str:
    """Move a locked refund whose preconditions the caller checked to ``target``."""
    before = refund.status
    refund.status = target
    refund.settled_at = now
    if provider_refund_id:
        refund.provider_refund_id = provider_refund_id
    if target == REFUNDED:
        refund.open_key = refund.open_key if refund.kind == RefundScope.FULL else None
    else:
        refund.open_key = None
        _reverse_effects(s, refund, now)
    s.add(refund)
    audit(s, refund, actor=actor, action=target, at=now, from_status=before,
          to_status=target, detail=detail)
    mail.refund_closed(s, refund)  # the outbox: sent only if this commits
    if refund.attention in _OPEN_WHILE_REFUNDING and refund.attention_resolved_at is None:
        # stuck, or waiting for an action: it has ended, so there is nothing left to do
        refund.attention_resolved_at = now
        audit(s, refund, actor="system", action="attention_resolved", at=now,
              from_status=target, to_status=target,
              detail={"attention": refund.attention, "note": f"the refund ended {target}"})
    return target


def finish(refund_id: int, outcome: str, *, actor: str, detail: str = "",
           provider_refund_id: str | None = None) -> str:
    """Apply a provider's verdict; return the refund's status after it.

    Allowed: Refunding -> Refunded | Failed, and Refunded -> Failed (a provider may fail
    a refund it had reported succeeded). "Succeeded" for a refund we hold as Canceled or
    Failed flags it paid_after_close (see the module's docstring), once. Anything
    else — a repeated or out-of-order verdict — changes nothing and is noted in the
    audit trail.
    """
    target = {Outcome.SUCCEEDED: REFUNDED, Outcome.FAILED: FAILED}.get(outcome)
    if target is None:
        raise ValueError(f"not a final outcome: {outcome!r}")
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        now = clock.now(s)
        before = refund.status
        if target == REFUNDED and before in (CANCELED, FAILED):
            _paid_after_close(s, refund, actor=actor, detail=detail, now=now,
                              provider_refund_id=provider_refund_id)
            return before
        allowed = before == REFUNDING or (before == REFUNDED and target == FAILED)
        if not allowed:
            if before != target:
                audit(s, refund, actor=actor, action="ignored", at=now, from_status=before,
                      to_status=before, detail=f"late or repeated verdict {target}: {detail}")
            return before
        return _close(s, refund, target, actor=actor, detail=detail, now=now,
                      provider_refund_id=provider_refund_id)


def _paid_after_close(s: Session, refund: Refund, *, actor: str, detail: str, now: datetime,
                      provider_refund_id: str | None) -> None:
    """The provider paid a refund whose effects we reversed (Canceled, or Failed).

    The status stays (it is what our ledger did); the refund is flagged, the evidence
    goes in the audit trail, and the order is blocked from another refund: the open_key
    is taken back when no other refund of the order holds it, and quotes count a
    paid_after_close refund as refunded. The ledger is not touched. A repeat of the
    verdict (a webhook delivered again, the reconciler) changes nothing.
    """
    if refund.attention == PAID_AFTER_CLOSE:
        return
    refund.attention, refund.attention_at, refund.attention_resolved_at = (
        PAID_AFTER_CLOSE, now, None)
    if provider_refund_id and not refund.provider_refund_id:
        refund.provider_refund_id = provider_refund_id
    key = f"{refund.order_kind}:{refund.subscription_payment_id or refund.topup_order_id}"
    if refund.open_key is None and s.exec(select(Refund.id)
                                          .where(Refund.open_key == key)).first() is None:
        refund.open_key = key
    s.add(refund)
    audit(s, refund, actor=actor, action="needs_attention", at=now, from_status=refund.status,
          to_status=refund.status,
          detail={"attention": PAID_AFTER_CLOSE, "provider_verdict": "succeeded",
                  "provider_detail": detail, "provider_refund_id": provider_refund_id,
                  "sent_at": refund.submitted_at.isoformat() if refund.submitted_at else None,
                  "final_cents": refund.final_cents, "currency": refund.currency,
                  "final_minor": refund.final_minor,
                  "ledger": f"unchanged: the {refund.status} refund's effects stay reversed; "
                            "support decides"})
    log.warning("refund %s (%s) was paid by the provider after it ended %s: needs attention",
                refund.ref, refund.id, refund.status)


def resolve_attention(refund_id: int, *, actor: str, note_text: str,
                      provider_paid: bool = True) -> str:
    """Support marks a refund that needs attention resolved, saying what was done.

    For a refund flagged ``paid_after_close`` support also says what the provider's
    own records show. ``provider_paid`` (the default): the money went out, the order
    stays refunded. ``provider_paid=False``: the "succeeded" was stale (Stripe does not
    deliver events in order: "failed" then an older "succeeded" looks the same as a
    refund failed and then paid) and nothing was paid, so the flag becomes
    ``not_paid``, the refund gives up the order's ``open_key`` and the order can be
    refunded again (a Failed refund can be retried)."""
    text = (note_text or "").strip()
    if not text:
        raise RefundRefused("Say what was done: the note goes in the audit trail.")
    if len(text) > 2000:
        raise RefundRefused("The note is at most 2,000 characters.")
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        if refund.attention is None or refund.attention_resolved_at is not None:
            raise RefundRefused("This refund does not need attention.")
        now = clock.now(s)
        detail = {"attention": refund.attention, "note": text}
        if refund.attention == PAID_AFTER_CLOSE:
            detail["provider_paid"] = provider_paid
            if not provider_paid:
                refund.attention, refund.open_key = Attention.NOT_PAID, None
        refund.attention_resolved_at = now
        s.add(refund)
        audit(s, refund, actor=actor, action="attention_resolved", at=now,
              from_status=refund.status, to_status=refund.status, detail=detail)
        return refund.status


def _reverse_effects(s: Session, refund: Refund, now: datetime) -> None:
    entries = s.exec(select(LedgerEntry).where(LedgerEntry.refund_id == refund.id,
                                               LedgerEntry.kind.in_(_REVERSED))
                     .order_by(LedgerEntry.id)).all()
    for entry in entries:
        ledger.post(s, account_id=entry.account_id, bucket=entry.bucket,
                    amount_micros=-entry.amount_micros, kind=LedgerKind(entry.kind).reversal, at=now,
                    description=f"Reversal: {entry.description}", order_id=entry.order_id,
                    refund_id=refund.id, grant_id=entry.grant_id, allow_negative=True)
        if entry.kind == LedgerKind.FORFEIT and entry.grant_id is not None:
            grant = s.get(Grant, entry.grant_id)
            grant.forfeited_micros += entry.amount_micros  # entry is negative
            s.add(grant)
    reward = s.exec(select(ReferralReward)
                    .where(ReferralReward.revoked_by_refund_id == refund.id)).first()
    if reward is not None:
        reward.status = "granted" if reward.grant_id is not None else "pending"
        reward.revoked_by_refund_id, reward.updated_at = None, now
        s.add(reward)
    if refund.plan_restorable and refund.subscription_payment_id is not None:
        order = s.get(SubscriptionPayment, refund.subscription_payment_id)
        plan = s.get(CurrentPlan, refund.account_id)
        if order.cycle_ends_at > now and plan is not None and plan.payment_id is None:
            plan.plan, plan.payment_id, plan.updated_at = order.plan, order.id, now
            s.add(plan)
            audit(s, refund, actor="system", action="plan_restored", at=now,
                  detail=f"Free -> {order.plan}")
        refund.plan_restorable = False
    audit(s, refund, actor="system", action="effects_reversed", at=now,
          detail={"ledger_entries": len(entries), "reward_restored": reward is not None})


def cancel(refund_id: int, *, actor: str, account_id: int | None = None) -> str:
    """Cancel a Refunding refund that has not been sent to the provider yet.

    ``account_id`` (a customer cancelling) must own the refund. Checked and applied
    under the lock: ``send`` marks a refund submitted under the same lock before it
    calls the provider, so a refund is either canceled unsent or sent and not canceled.
    """
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id, owner=account_id)
        if refund.status != REFUNDING:
            raise RefundRefused(
                f"Only a refund in progress can be canceled (it is {refund.status}).")
        if refund.submitted_at is not None:
            raise RefundRefused("The refund has already been sent to the payment provider.")
        _cancel_checked(refund_id)
        return _close(s, refund, CANCELED, actor=actor, detail="canceled before it was sent",
                      now=clock.now(s))


def _cancel_checked(refund_id: int) -> None:
    """Test seam: called once cancel has checked, under the lock, that the refund is
    unsent, before it applies. Does nothing; the race tests run ``send`` here."""


def record_payout(refund_id: int, *, actor: str) -> str:
    """Support paid a manual-channel refund out by hand: it ends Refunded."""
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        order = s.get(_order_model(refund.order_kind),
                      refund.subscription_payment_id or refund.topup_order_id)
        if refund.status != REFUNDING or not provider_for(order.channel).paid_by_hand:
            raise RefundRefused(
                "Only a Refunding refund of a manual channel is paid out by hand.")
        return _close(s, refund, REFUNDED, actor=actor, now=clock.now(s),
                      detail="paid out manually by support")


# ------------------------------------------------------------------------ provider


def _request(s: Session, refund: Refund) -> RefundRequest:
    model = _order_model(refund.order_kind)
    order = s.get(model, refund.subscription_payment_id or refund.topup_order_id)
    return RefundRequest(
        refund_id=refund.id, refund_ref=refund.ref, idempotency_key=refund.idempotency_key,
        order_kind=refund.order_kind, order_ref=order.ref, channel=order.channel,
        provider_payment_id=order.provider_payment_id,
        provider_subscription_id=getattr(order, "provider_subscription_id", None),
        currency=refund.currency, amount_minor=refund.final_minor,
        sandbox_outcome=order.sandbox_outcome,
        submitted_at=refund.submitted_at,
    )


def send(refund_id: int) -> str:
    """Ask the provider to refund (once the approval is committed); return the status.

    The first submission's time is committed before the call, so a crash during the
    call leaves a refund that the reconciler asks the provider about. A lease taken
    under the lock keeps other processes from talking to the provider about the same
    refund at the same time (providers that ignore idempotency keys could otherwise
    be asked twice to create it); it ends with the call, or expires if the caller dies.
    Every later exchange is an inquiry, counted (``escalate_stuck`` reads the count).
    A provider that is paid by hand is told once and never asked again.
    """
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        if refund.status != REFUNDING:
            return refund.status
        request = _request(s, refund)
        provider = provider_for(request.channel)
        first = refund.submitted_at is None
        if provider.paid_by_hand and not first:
            return REFUNDING  # support records the payout; there is nothing to ask
        now = clock.real_now()
        if refund.lease_until is not None and refund.lease_until > now:
            return REFUNDING  # another process is asking the provider right now
        refund.checked_at = now
        # long enough for a provider call with its own retries (Antom: three attempts)
        refund.lease_until = now + timedelta(seconds=4 * settings().provider_timeout_seconds + 5)
        if first:
            refund.submitted_at = now
            request = dataclasses.replace(request, submitted_at=now)
        else:
            refund.inquiries += 1
        s.add(refund)
    actor = f"provider:{provider.name}"
    try:
        with metrics.provider_call(provider.name, "submit" if first else "inquire") as seen, \
                logs.bound(refund_ref=request.refund_ref, order_ref=request.order_ref):
            result = provider.submit(request) if first else provider.inquire(request)
            seen["outcome"] = result.outcome.value
    except ProviderError as exc:
        note(refund_id, actor, "provider_error", str(exc), release_lease=True)
        return REFUNDING
    except BaseException:
        note(refund_id, actor, "provider_error",
             "unexpected error while asking the provider", release_lease=True)
        raise
    note(refund_id, actor, "sent" if first else "inquired",
         {"outcome": result.outcome.value, "provider_refund_id": result.provider_refund_id,
          "detail": result.detail}, release_lease=True)
    if result.outcome == Outcome.REQUIRES_ACTION:
        return requires_action(refund_id, actor=actor, detail=result.detail,
                               action=result.action,
                               provider_refund_id=result.provider_refund_id)
    if not result.outcome.final:
        return REFUNDING
    return finish(refund_id, result.outcome, actor=actor,
                  detail=result.detail, provider_refund_id=result.provider_refund_id)


def note(refund_id: int, actor: str, action: str, detail, *,
         release_lease: bool = False) -> None:
    """Add a line to a refund's audit trail (and keep the provider's refund id)."""
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        if refund.provider_refund_id is None and isinstance(detail, dict):
            refund.provider_refund_id = detail.get("provider_refund_id")
        if release_lease:
            refund.lease_until = None
        s.add(refund)
        audit(s, refund, actor=actor, action=action, at=clock.now(s), detail=detail)


def _flag(s: Session, refund: Refund, attention: Attention, *, actor: str, now: datetime,
          detail: dict) -> bool:
    """Flag a locked refund for support (once: an open flag is kept as it is)."""
    if refund.attention is not None and refund.attention_resolved_at is None:
        return False
    refund.attention, refund.attention_at, refund.attention_resolved_at = attention, now, None
    s.add(refund)
    audit(s, refund, actor=actor, action="needs_attention", at=now, from_status=refund.status,
          to_status=refund.status, detail={"attention": attention, **detail})
    log.warning("refund %s (%s) needs attention: %s", refund.ref, refund.id, attention)
    return True


def requires_action(refund_id: int, *, actor: str, detail: str, action: str,
                    provider_refund_id: str | None = None) -> str:
    """The provider cannot pay the refund until someone acts (Stripe's
    ``requires_action``: e.g. the customer must give bank details). It stays
    Refunding and goes to "needs attention" with the action shown to support; the
    provider's final verdict later ends it as usual."""
    with db.transaction() as s:
        refund = _lock_for_refund(s, refund_id)
        if refund.status != REFUNDING:
            return refund.status
        if provider_refund_id and not refund.provider_refund_id:
            refund.provider_refund_id = provider_refund_id
        _flag(s, refund, Attention.REQUIRES_ACTION, actor=actor, now=clock.now(s),
              detail={"action": action, "provider_detail": detail,
                      "provider_refund_id": provider_refund_id})
        return refund.status


def escalate_stuck(*, limit: int = 200) -> int:
    """Flag refunds still Refunding after ``ZENMUX_STUCK_AFTER_INQUIRIES`` provider
    inquiries or ``ZENMUX_STUCK_AFTER_HOURS`` since they were first sent (Hyperswitch's
    RETRIES_EXCEEDED): support sees them under "needs attention". The customer still
    sees Refunding — it is. Returns how many were flagged. Checked again under the lock."""
    cfg = settings()
    oldest = clock.real_now() - timedelta(hours=cfg.stuck_after_hours)
    stuck = sa.or_(Refund.inquiries >= cfg.stuck_after_inquiries, Refund.submitted_at <= oldest)
    with db.reading() as s:
        ids = s.exec(select(Refund.id).where(Refund.status == REFUNDING,
                                              Refund.attention.is_(None),
                                              Refund.submitted_at.is_not(None), stuck)
                     .order_by(Refund.id).limit(limit)).all()
    flagged = 0
    for refund_id in ids:
        with db.transaction() as s:
            refund = _lock_for_refund(s, refund_id)
            if (refund.status != REFUNDING or refund.attention is not None
                    or refund.submitted_at is None
                    or not (refund.inquiries >= cfg.stuck_after_inquiries
                            or refund.submitted_at <= oldest)):
                continue
            flagged += _flag(s, refund, Attention.STUCK, actor="system", now=clock.now(s),
                             detail={"inquiries": refund.inquiries,
                                     "sent_at": refund.submitted_at.isoformat(),
                                     "limits": f"{cfg.stuck_after_inquiries} inquiries or "
                                               f"{cfg.stuck_after_hours} h"})
    return flagged


def process_refunding(*, force: bool = False, limit: int = 200) -> int:
    """Send or inquire the refunds still in Refunding (the settling/reconciling pass),
    then escalate the ones that are stuck.

    A refund is due when it was never sent (approval committed, then a crash or a lost
    call) or when its provider was last asked long enough ago: every pass for a
    provider that is ``polled``, ``ZENMUX_RECONCILE_AFTER_SECONDS`` for the others,
    whose webhooks are the first source of truth; never again for one ``paid_by_hand``.
    ``force`` asks about all of them now. Returns how many were asked. Safe in several
    processes at once: ``send`` and ``finish`` lock and re-check, so a verdict is
    applied once. Refunds that came with a scenario never reached any provider: they
    stay in Refunding until support acts on them.
    """
    now = clock.real_now()
    wait = timedelta(seconds=settings().reconcile_after_seconds)
    with db.reading() as s:
        rows = s.exec(select(Refund, SubscriptionPayment.channel, TopupOrder.channel)
                      .outerjoin(SubscriptionPayment,
                                 SubscriptionPayment.id == Refund.subscription_payment_id)
                      .outerjoin(TopupOrder, TopupOrder.id == Refund.topup_order_id)
                      .where(Refund.status == REFUNDING, Refund.source != RefundSource.SCENARIO)
                      .order_by(Refund.id).limit(limit)).all()
    asked = 0
    for refund, sub_channel, top_channel in rows:
        provider = provider_for(sub_channel or top_channel)
        never_sent = refund.submitted_at is None
        if provider.paid_by_hand and not never_sent:
            continue
        due = (force or never_sent or refund.checked_at is None or provider.polled
               or now - refund.checked_at >= wait)
        if not due:
            continue
        asked += 1
        try:
            send(refund.id)
        except Exception:  # noqa: BLE001 - one bad refund must not stop the others
            log.exception("processing refund %s failed; will retry", refund.id)
    try:
        escalate_stuck(limit=limit)
    except Exception:  # noqa: BLE001 - the next pass tries again
        log.exception("escalating stuck refunds failed; will retry")
    return asked
