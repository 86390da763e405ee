"""E-mail notifications through a transactional outbox.

Writing: the lifecycle calls one function of this module inside the transaction of the
change a mail tells about — ``refund_approved`` in ``refunds.approve``,
``refund_closed`` in ``refunds._close`` (Refunded, Failed, Canceled),
``request_received`` in ``requests.file_request``, ``request_approved`` and
``request_denied`` at the request's decision. The mail (subject, text and HTML bodies,
rendered from ``zenmux_refunds/mail_templates/`` with the amounts the refund stored,
formatted by the i18n formatters) becomes an ``OutboxMail`` row of that transaction: it
exists if and only if the change was committed. A mail is written in the account's
language (``Account.language``: the ``zh-CN/`` templates and the catalog's subjects for
简体中文), with its times in the zone of the account's latest live session (UTC when it
has none; every time names its zone), fixed when the row is written. Its ``key`` names the event
(``refund:12:approved``) and is unique; a second write of the same key does nothing.

Sending: ``send_pending`` (the background pass, after the commit) takes each due mail
under a lease (a conditional UPDATE: one process at a time, and a crashed sender's
lease expires), hands it to SMTP, and marks it sent right after the server accepted
it. A failure is recorded in ``last_error`` and retried with backoff (30 s doubling up
to an hour, never given up: a mail stays pending until it is sent). SMTP has no
idempotency key: a crash between the server's acceptance and our commit sends it
again when the lease expires — with the same ``Message-ID`` (fixed when the row is
written), so the resend is recognisably the same message. Without ``ZENMUX_SMTP_URL``
mails stay in the outbox.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import jinja2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from zenmux_refunds import clock, db
from zenmux_refunds.config import SmtpTarget, settings
from zenmux_refunds.domain.vocabulary import OrderKind, RefundSource, RefundStatus
from zenmux_refunds.i18n import (
    ENGLISH,
    Locale,
    format_day,
    format_instant,
    format_instant_utc,
    format_money,
    format_paid,
    format_usd,
    gettext,
    translate,
)
from zenmux_refunds.models import (
    Account,
    EmailRequest,
    OutboxMail,
    Refund,
    SubscriptionPayment,
    TopupOrder,
)
from zenmux_refunds.services import billing, business_days, preferences

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "mail_templates"
SMTP_TIMEOUT_SECONDS = 30
# long enough for a connection, a login and one message, each within the timeout
LEASE = timedelta(seconds=3 * SMTP_TIMEOUT_SECONDS + 10)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
BATCH = 50

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                        default_for_string=False, default=False),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True,
    # the templates ship with the code: no stat() of each file (and of each include)
    # at every mail to see whether it changed on disk
    auto_reload=False,
)


# ------------------------------------------------------------------ writing


def _locale(s: Session, account_id: int) -> Locale:
    """The language and zone a mail to the account is written in."""
    return preferences.locale_of_account(s, s.get(Account, account_id))


def _refund_facts(s: Session, refund: Refund, locale: Locale = ENGLISH, order=None) -> dict:
    """What a refund mail says, from the integers the refund stored. ``order``: the
    refund's order, when the caller has read it in this transaction."""
    lang, tz = locale.lang, locale.tz
    if refund.order_kind == OrderKind.SUBSCRIPTION:
        order = order or s.get(SubscriptionPayment, refund.subscription_payment_id)
        what = translate("{plan} subscription payment {ref}", lang, plan=order.plan,
                         ref=order.ref)
        paid = format_usd(order.amount_cents, lang)
    else:
        order = order or s.get(TopupOrder, refund.topup_order_id)
        what = translate("Pay-As-You-Go top-up {ref}", lang, ref=order.ref)
        paid = format_paid(order.amount_cents, order.charged_currency, order.charged_minor,
                           lang)
    returned_usd = format_usd(refund.final_cents, lang)
    returned_charged = (format_money(refund.final_minor, refund.currency, lang)
                        if refund.currency.upper() != "USD" else "")
    first, last = business_days.arrival_dates(refund.requested_at)
    return {
        "refund_ref": refund.ref, "order_ref": order.ref, "order": what, "paid": paid,
        "refundable": format_usd(refund.gross_cents, lang),
        "fee": format_usd(refund.fee_cents, lang),
        "returned_usd": returned_usd, "returned_charged": returned_charged,
        # what reaches the customer, in the currency it is paid in
        "returned": returned_charged or returned_usd,
        "method": billing.method_label(order.channel, locale),
        "requested": format_instant(refund.requested_at, lang, tz),
        "settled": format_instant(refund.settled_at, lang, tz) if refund.settled_at else "",
        "arrival_first": format_day(first, lang), "arrival_last": format_day(last, lang),
    }


def _request_facts(s: Session, row: EmailRequest, locale: Locale = ENGLISH) -> dict:
    lang, tz = locale.lang, locale.tz
    order = (s.get(TopupOrder, row.topup_order_id) if row.topup_order_id else
             s.get(SubscriptionPayment, row.subscription_payment_id)
             if row.subscription_payment_id else None)
    return {
        "request_ref": row.ref, "amount": format_usd(row.amount_cents, lang),
        "purchase_at": format_instant(row.purchase_at, lang, tz),
        "order": (order.ref if order else
                  gettext("no order matched yet: support will check", lang)),
        "submitted": format_instant(row.submitted_at, lang, tz),
        "due": format_instant(row.review_due_at, lang, tz),
        "decided": format_instant(row.decided_at, lang, tz) if row.decided_at else "",
        "note": row.decision_note,
    }


def _message_id(key: str) -> str:
    """A Message-ID unique across databases (a demo reset reuses row ids), fixed when
    the row is written, so that every resend of the row carries the same one."""
    domain = parseaddr(settings().mail_from)[1].rpartition("@")[2] or "zenmux.ai"
    slug = "".join(c if c.isalnum() else "." for c in key)
    return f"<{slug}.{secrets.token_hex(8)}@{domain}>"


# The outbox row's INSERT … ON CONFLICT (key) DO NOTHING, compiled once per dialect: it
# is sent inside every approval's transaction.
_INSERTS = {
    name: insert(OutboxMail.__table__).on_conflict_do_nothing(index_elements=["key"])
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _template(name: str, locale: Locale) -> jinja2.Template:
    """``name`` in the locale's language: ``zh-CN/name`` for 简体中文, ``name`` (English)
    otherwise."""
    return _env.get_template(name if locale.lang == ENGLISH.lang else f"{locale.lang}/{name}")


def _write(s: Session, *, key: str, account_id: int, subject: str, template: str,
           quote_ref: str, locale: Locale = ENGLISH, now: datetime | None = None,
           **context) -> None:
    """Add the mail to the caller's transaction; nothing if ``key`` was written.
    ``now``: the app's time, when the caller has read it in this transaction."""
    account = s.get(Account, account_id)
    values = {"name": account.name, "subject": subject, "quote_ref": quote_ref, **context}
    row = {
        "key": key, "account_id": account.id, "to": account.email, "subject": subject,
        "text": _template(f"{template}.txt", locale).render(values),
        "html": _template(f"{template}.html", locale).render(values),
        "message_id": _message_id(key), "created_at": now or clock.now(s), "attempts": 0,
        "next_attempt_at": clock.real_now(),
    }
    connection = s.connection()
    connection.execute(_INSERTS[connection.dialect.name], row)


def refund_approved(s: Session, refund: Refund, *, now: datetime | None = None,
                    order=None) -> None:
    """In ``refunds.approve``'s transaction (``now``: the approval's time, ``order``:
    the refund's order, both read there). A refund approved from an e-mail request is
    told by the request's decision mail (``request_approved``), not twice."""
    if refund.source == RefundSource.EMAIL:
        return
    locale = _locale(s, refund.account_id)
    r = _refund_facts(s, refund, locale, order)
    _write(s, key=f"refund:{refund.id}:approved", account_id=refund.account_id,
           subject=translate("Refund {ref} approved: {returned} on its way", locale.lang,
                             ref=refund.ref, returned=r["returned"]),
           template="refund_approved", quote_ref=refund.ref, locale=locale, now=now, r=r)


_CLOSED_SUBJECTS = {
    RefundStatus.REFUNDED: "Refund {ref} completed: {returned} returned",
    RefundStatus.FAILED: "Refund {ref} failed: please contact support",
    RefundStatus.CANCELED: "Refund {ref} canceled",
}


def refund_closed(s: Session, refund: Refund) -> None:
    """In ``refunds._close``'s transaction: the refund reached a terminal status."""
    status = RefundStatus(refund.status)
    locale = _locale(s, refund.account_id)
    r = _refund_facts(s, refund, locale)
    _write(s, key=f"refund:{refund.id}:{status.value}", account_id=refund.account_id,
           subject=translate(_CLOSED_SUBJECTS[status], locale.lang, ref=refund.ref,
                             returned=r["returned"]),
           template=f"refund_{status.value}", quote_ref=refund.ref, locale=locale, r=r)


def request_received(s: Session, row: EmailRequest) -> None:
    """In ``requests.file_request``'s transaction (``row`` flushed: it has an id)."""
    locale = _locale(s, row.account_id)
    _write(s, key=f"request:{row.id}:received", account_id=row.account_id,
           subject=translate("Refund request {ref} received", locale.lang, ref=row.ref),
           template="request_received", quote_ref=row.ref, locale=locale,
           q=_request_facts(s, row, locale))


def request_approved(s: Session, row: EmailRequest, refund: Refund) -> None:
    """In the approval's transaction, once the request is Approved with its refund."""
    locale = _locale(s, row.account_id)
    r = _refund_facts(s, refund, locale)
    _write(s, key=f"request:{row.id}:decided", account_id=row.account_id,
           subject=translate("Refund request {ref} approved: refund {refund}, {returned} "
                             "on its way", locale.lang, ref=row.ref, refund=refund.ref,
                             returned=r["returned"]),
           template="request_approved", quote_ref=refund.ref, locale=locale,
           q=_request_facts(s, row, locale), r=r)


def request_denied(s: Session, row: EmailRequest) -> None:
    """In ``requests.deny``'s transaction, once the request is Denied."""
    locale = _locale(s, row.account_id)
    _write(s, key=f"request:{row.id}:decided", account_id=row.account_id,
           subject=translate("Refund request {ref} denied", locale.lang, ref=row.ref),
           template="request_denied", quote_ref=row.ref, locale=locale,
           q=_request_facts(s, row, locale))


# ------------------------------------------------------------------ sending


class MailError(RuntimeError):
    """Sending is refused before anything is sent (the message is the reason)."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Smtp:
    """One SMTP connection for a pass, opened at the first mail. smtps:// speaks TLS
    from the start; smtp:// upgrades with STARTTLS whenever the server offers it, and
    without it sends a password only to a loopback host (a local relay)."""

    def __init__(self, target: SmtpTarget):
        self.target = target
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        context = ssl.create_default_context()
        if t.implicit_tls:
            client = smtplib.SMTP_SSL(t.host, t.port, timeout=SMTP_TIMEOUT_SECONDS,
                                      context=context)
        else:
            client = smtplib.SMTP(t.host, t.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            client.ehlo()
            if not t.implicit_tls:
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif t.username and not _loopback(t.host):
                    raise MailError("the server offers no STARTTLS: the SMTP password is "
                                    "not sent in the clear (use smtps://)")
            if t.username:
                client.login(t.username, t.password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: EmailMessage) -> None:
        if self.client is None:
            self.client = self._connect()
        self.client.send_message(message)

    def close(self, *, polite: bool = True) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit() if polite else client.close()
        except (smtplib.SMTPException, OSError):
            client.close()


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings().mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _due(at: datetime):
    return (OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= at,
            sa.or_(OutboxMail.lease_until.is_(None), OutboxMail.lease_until <= at))


def _lease(mail_id: int, at: datetime) -> OutboxMail | None:
    """Take the mail for one attempt, if it is still due and nobody holds it: one
    conditional UPDATE, so two processes can never both win it."""
    with db.transaction() as s:
        taken = s.execute(
            sa.update(OutboxMail.__table__)
            .where(OutboxMail.id == mail_id, *_due(at))
            .values(lease_until=at + LEASE, attempts=OutboxMail.attempts + 1)).rowcount
        if taken != 1:
            return None
        return s.exec(select(OutboxMail).where(OutboxMail.id == mail_id)).one()


def _mark_sent(mail_id: int, at: datetime) -> None:
    with db.transaction() as s:
        s.execute(sa.update(OutboxMail.__table__)
                  .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None))
                  .values(sent_at=at, lease_until=None, last_error=None))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, … up to 1 h."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0),
                                 MAX_RETRY_SECONDS))


def _mark_failed(mail_id: int, attempts: int, error: BaseException, at: datetime) -> None:
    text = f"{type(error).__name__}: {error}"[:1000]
    with db.transaction() as s:
        s.execute(sa.update(OutboxMail.__table__)
                  .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None))
                  .values(last_error=text, lease_until=None,
                          next_attempt_at=at + backoff(attempts)))


def send_pending(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send the mails that are due (oldest first); return how many SMTP accepted.

    Without ``ZENMUX_SMTP_URL`` nothing is sent and nothing fails: mails wait in the
    outbox. ``now`` (wall clock) is for tests. Safe in several threads and processes
    at once: each mail is leased before it is sent."""
    target = settings().smtp
    if target is None:
        return 0

    def current() -> datetime:
        return now or clock.real_now()

    with db.reading() as s:
        ids = s.exec(select(OutboxMail.id).where(*_due(current()))
                     .order_by(OutboxMail.id).limit(limit)).all()
    sent = 0
    smtp = _Smtp(target)
    try:
        for mail_id in ids:
            mail = _lease(mail_id, current())
            if mail is None:
                continue  # sent or taken by another process since we looked
            try:
                smtp.send(_message(mail))
            except Exception as exc:  # noqa: BLE001 - recorded; retried after a backoff
                smtp.close(polite=False)
                _mark_failed(mail.id, mail.attempts, exc, current())
                log.warning("mail %s (%s) not sent, attempt %s: %s", mail.id, mail.key,
                            mail.attempts, type(exc).__name__)
                continue
            _mark_sent(mail.id, current())
            sent += 1
    finally:
        smtp.close()
    return sent


# ------------------------------------------------------------------ the demo Mailbox


@dataclass(frozen=True)
class MailRow:
    """One mail of the signed-in account, as the Mailbox lists it."""

    id: int
    subject: str
    at: str
    status: str  # Sent | Waiting (in the reader's language)
    sent: bool = False
    at_utc: str = ""  # ``at`` in UTC, for the hover title


@dataclass(frozen=True)
class MailView:
    subject: str
    at: str
    to: str
    status: str
    text: str
    sent: bool = False


def _status(mail: OutboxMail, locale: Locale = ENGLISH) -> str:
    return gettext("Sent" if mail.sent_at is not None else "Waiting", locale.lang)


def mailbox(account_id: int, *, limit: int = 100, locale: Locale = ENGLISH) -> list[MailRow]:
    """The account's own mails, newest first."""
    with db.reading() as s:
        rows = s.exec(select(OutboxMail).where(OutboxMail.account_id == account_id)
                      .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
                      .limit(limit)).all()
    return [MailRow(id=m.id, subject=m.subject,
                    at=format_instant(m.created_at, locale.lang, locale.tz),
                    status=_status(m, locale), sent=m.sent_at is not None,
                    at_utc=format_instant_utc(m.created_at, locale.lang)) for m in rows]


def open_mail(account_id: int, mail_id: int, *, locale: Locale = ENGLISH) -> MailView | None:
    """One of the account's mails (None when it is not theirs or does not exist)."""
    with db.reading() as s:
        mail = s.exec(select(OutboxMail).where(OutboxMail.id == mail_id,
                                               OutboxMail.account_id == account_id)).first()
    if mail is None:
        return None
    return MailView(subject=mail.subject,
                    at=format_instant(mail.created_at, locale.lang, locale.tz),
                    to=mail.to, status=_status(mail, locale), text=mail.text,
                    sent=mail.sent_at is not None)
