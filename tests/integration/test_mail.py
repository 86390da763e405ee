"""E-mail notifications through the transactional outbox (issue 11, item 6), against a
real SMTP server (aiosmtpd on a free local port) and the real database (SQLite, and
PostgreSQL when configured): the mails of a refund's whole life and of an e-mail
request, retries after SMTP refusals, a rolled-back transaction that sends nothing,
and two senders at once that send each mail once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from tests.integration._helpers import account_by_ref, approve_by_ref, refund_row
from zenmux_refunds import clock, config, db
from zenmux_refunds.domain import money
from zenmux_refunds.models import EmailRequest, OutboxMail
from zenmux_refunds.providers import Outcome
from zenmux_refunds.services import mail, quotes, refunds, requests

MAIL_FROM = "ZenMux Refunds <refunds@zenmux.example>"


class Inbox:
    """The SMTP server's side: what it accepted, and whether it refuses for now."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = False
        self.delay = 0.0
        self.lock = threading.Lock()
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
        self.refuse, self.delay = False, 0.0

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server, example_db, monkeypatch):
    """The example world with SMTP configured against the local server."""
    box = smtp_server
    box.reset()
    monkeypatch.setenv("ZENMUX_SMTP_URL", f"smtp://127.0.0.1:{box.port}")
    monkeypatch.setenv("ZENMUX_MAIL_FROM", MAIL_FROM)
    config.settings.cache_clear()
    yield box
    box.reset()
    config.settings.cache_clear()


def _rows() -> list[OutboxMail]:
    with db.reading() as s:
        return list(s.exec(select(OutboxMail).order_by(OutboxMail.id)).all())


def _body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def _received(inbox: Inbox, fragment: str):
    found = [m for m in inbox.messages if fragment in m["Subject"]]
    assert len(found) == 1, (fragment, inbox.subjects())
    return found[0]


def _approve(account_ref: str, order_ref: str, **kwargs) -> refunds.Approved:
    account = account_by_ref(account_ref)
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, account, order_ref)
    return refunds.approve(account_id=account.id, kind=kind, order_id=order_id,
                           preview_final_cents=None, actor=account.email, **kwargs)


def _request_id(ref: str) -> int:
    with db.reading() as s:
        return s.exec(select(EmailRequest.id).where(EmailRequest.ref == ref)).one()


# ------------------------------------------------------------------ a refund's life


def test_a_refunds_whole_life_sends_exactly_its_mails(inbox):
    # Alice: approved (the customer's confirmation), then the provider pays it
    alice = approve_by_ref("alice", "SUB-1002")
    assert mail.send_pending() == 1
    approved = _received(inbox, f"Refund {alice.refund_ref} approved")
    assert approved["To"] == "alice@example.com"
    assert approved["From"] == MAIL_FROM
    text, html = _body(approved, "plain"), _body(approved, "html")
    for fact in ("$15.71", "$16.54", "$0.83", "SUB-1002", "Card (Stripe)",
                 "Fri 2026-11-27", "Tue 2026-12-01"):
        assert fact in text and fact in html, fact
    assert refunds.finish(alice.refund_id, Outcome.SUCCEEDED, actor="provider:sandbox") \
        == "refunded"
    assert mail.send_pending() == 1
    done = _received(inbox, f"Refund {alice.refund_ref} completed: $15.71 returned")
    assert "$15.71" in _body(done, "plain")

    # Paul's CNY top-up (Antom): approved, then the provider fails it
    cny = approve_by_ref("paul", "TOP-3002")
    row = refund_row(cny.refund_id)
    returned_cny = money.format_currency(row.final_minor, "CNY")
    assert returned_cny.startswith("CNY ") and row.final_minor > 0
    refunds.finish(cny.refund_id, Outcome.FAILED, actor="provider:antom", detail="declined")
    # Paul's USD top-up: approved, then canceled before it was sent
    usd = approve_by_ref("paul", "TOP-3001")
    assert refunds.cancel(usd.refund_id, actor="paul@example.com",
                          account_id=account_by_ref("paul").id) == "canceled"
    assert mail.send_pending() == 4

    cny_approved = _received(inbox, f"Refund {cny.refund_ref} approved: {returned_cny}")
    body = _body(cny_approved, "plain")
    assert money.format_usd(row.final_cents) in body and returned_cny in body
    assert "CNY 720.00" in body  # what was charged
    assert "please contact support" in _received(
        inbox, f"Refund {cny.refund_ref} failed").get("Subject")
    assert "contact support@zenmux.ai" in _body(
        _received(inbox, f"Refund {cny.refund_ref} failed"), "plain")
    _received(inbox, f"Refund {usd.refund_ref} approved")
    canceled = _received(inbox, f"Refund {usd.refund_ref} canceled")
    assert money.format_usd(refund_row(usd.refund_id).final_cents) in _body(canceled, "plain")

    # exactly these six, each once, each carrying the Message-ID its row was given
    assert len(inbox.messages) == 6
    rows = _rows()
    assert sorted(r.key for r in rows) == sorted([
        f"refund:{alice.refund_id}:approved", f"refund:{alice.refund_id}:refunded",
        f"refund:{cny.refund_id}:approved", f"refund:{cny.refund_id}:failed",
        f"refund:{usd.refund_id}:approved", f"refund:{usd.refund_id}:canceled"])
    assert all(r.sent_at is not None and r.attempts == 1 and r.last_error is None
               for r in rows)
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(r.message_id
                                                                     for r in rows)
    assert mail.send_pending() == 0 and len(inbox.messages) == 6


def test_an_email_request_filed_and_decided_sends_its_two_mails(inbox):
    paul = account_by_ref("paul")
    sam = account_by_ref("sam")
    filed = requests.file_request(paul.id, contact="paul@example.com",
                                  purchase_at="2026-11-26 10:00", amount="10.00",
                                  unused_balance="", reason="Paid by bank transfer by mistake")
    refund_ref = requests.approve(sam.id, _request_id(filed.ref))
    denied = requests.file_request(paul.id, contact="paul@example.com",
                                   purchase_at="2026-11-26 09:00", amount="12.00",
                                   unused_balance="", reason="Another one")
    requests.deny(sam.id, _request_id(denied.ref), "No payment of $12.00 at that time")
    assert mail.send_pending() == 4

    received = _received(inbox, f"Refund request {filed.ref} received")
    assert "TOP-3004" in _body(received, "plain") and "$10.00" in _body(received, "plain")
    decided = _received(inbox, f"Refund request {filed.ref} approved: refund {refund_ref}")
    with db.reading() as s:
        refund = s.exec(select(refunds.Refund).where(refunds.Refund.ref == refund_ref)).one()
    assert money.format_usd(refund.final_cents) in _body(decided, "plain")
    assert refund_ref in _body(decided, "html")
    _received(inbox, f"Refund request {denied.ref} received")
    no = _received(inbox, f"Refund request {denied.ref} denied")
    assert "No payment of $12.00 at that time" in _body(no, "plain")
    # the approval is told once, by the request's decision, not again as a refund mail
    assert len(inbox.messages) == 4
    assert {m["To"] for m in inbox.messages} == {"paul@example.com"}


# ------------------------------------------------------------------ failures


def test_a_failing_smtp_server_leaves_the_mail_pending_then_sends_it_once(
        inbox, monkeypatch):
    approved = approve_by_ref("alice", "SUB-1002")
    # nothing listens on the port: the connection is refused
    monkeypatch.setenv("ZENMUX_SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")
    config.settings.cache_clear()
    assert mail.send_pending() == 0
    (row,) = _rows()
    assert row.sent_at is None and row.attempts == 1 and row.lease_until is None
    assert "Connection" in row.last_error
    first_retry = row.next_attempt_at
    assert first_retry >= clock.real_now() + timedelta(seconds=25)
    # not due yet: the next pass leaves it alone
    assert mail.send_pending() == 0 and _rows()[0].attempts == 1

    # the real server, refusing the recipient for now
    monkeypatch.setenv("ZENMUX_SMTP_URL", f"smtp://127.0.0.1:{inbox.port}")
    config.settings.cache_clear()
    inbox.refuse = True
    assert mail.send_pending(now=first_retry) == 0
    (row,) = _rows()
    assert row.sent_at is None and row.attempts == 2 and "451" in row.last_error
    assert row.next_attempt_at - first_retry == timedelta(seconds=60)  # backed off
    assert inbox.messages == []

    inbox.refuse = False
    assert mail.send_pending(now=row.next_attempt_at) == 1
    assert mail.send_pending(now=row.next_attempt_at + timedelta(hours=2)) == 0
    (row,) = _rows()
    assert row.sent_at is not None and row.attempts == 3 and row.last_error is None
    assert len(inbox.messages) == 1
    assert approved.refund_ref in inbox.messages[0]["Subject"]


def test_a_crashed_sender_leaves_the_mail_leased_then_it_is_sent_with_its_message_id(
        inbox):
    approve_by_ref("alice", "SUB-1002")
    (row,) = _rows()
    now = clock.real_now()
    assert mail._lease(row.id, now) is not None  # a sender took it, then died
    assert mail.send_pending(now=now) == 0  # held: nobody else sends it meanwhile
    assert inbox.messages == []
    assert mail.send_pending(now=now + mail.LEASE + timedelta(seconds=1)) == 1
    (after,) = _rows()
    assert after.attempts == 2 and after.sent_at is not None
    assert inbox.messages[0]["Message-ID"] == row.message_id  # fixed when it was written


def test_a_mail_written_in_a_transaction_that_rolls_back_is_never_sent(inbox):
    def lose_the_race(s, refund, now):
        # the mail of this approval is already written in this transaction
        assert s.exec(select(OutboxMail).where(
            OutboxMail.key == f"refund:{refund.id}:approved")).one()
        raise refunds.RefundRefused("This request is not pending.")

    with pytest.raises(refunds.RefundRefused):
        _approve("alice", "SUB-1002", within=lose_the_race)
    assert _rows() == []
    assert mail.send_pending() == 0 and inbox.messages == []
    # control: the same approval committed sends its mail
    approved = _approve("alice", "SUB-1002")
    assert mail.send_pending() == 1
    _received(inbox, f"Refund {approved.refund_ref} approved")


def test_the_same_event_writes_one_mail(inbox):
    approved = approve_by_ref("alice", "SUB-1002")
    with db.transaction() as s:  # e.g. a retried transaction writing it again
        mail.refund_approved(s, s.get(refunds.Refund, approved.refund_id))
    assert len(_rows()) == 1
    assert mail.send_pending() == 1 and len(inbox.messages) == 1


def test_two_senders_at_once_send_each_mail_once(inbox):
    paul = account_by_ref("paul")
    for minute in range(8):
        requests.file_request(paul.id, contact="paul@example.com",
                              purchase_at=f"2026-11-25 08:0{minute}", amount="5.00",
                              unused_balance="", reason=f"request {minute}")
    assert len(_rows()) == 8
    inbox.delay = 0.05  # each message takes a while: the two passes overlap
    start = threading.Barrier(2)
    counts: list[int] = []

    def sender() -> None:
        start.wait()
        counts.append(mail.send_pending())

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(counts) == 8, counts
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert all(r.sent_at is not None and r.attempts == 1 for r in _rows())


def test_without_smtp_settings_mails_wait_in_the_outbox(example_db, monkeypatch):
    monkeypatch.delenv("ZENMUX_SMTP_URL", raising=False)
    config.settings.cache_clear()
    approve_by_ref("alice", "SUB-1002")
    assert mail.send_pending() == 0  # no error
    (row,) = _rows()
    assert row.sent_at is None and row.attempts == 0 and row.last_error is None
    (listed,) = mail.mailbox(account_by_ref("alice").id)
    assert listed.status == "Waiting" and "approved" in listed.subject
    assert mail.mailbox(account_by_ref("paul").id) == []
    assert mail.open_mail(account_by_ref("paul").id, row.id) is None  # not paul's
    assert "$15.71" in mail.open_mail(account_by_ref("alice").id, row.id).text


# ------------------------------------------------------------------ configuration


def test_the_smtp_url_is_parsed_and_its_password_never_shown(monkeypatch):
    monkeypatch.setenv("ZENMUX_SMTP_URL", "smtps://mailer%40zenmux.ai:s3cr%3At@smtp.example:2465")
    config.settings.cache_clear()
    target = config.settings().smtp
    assert (target.implicit_tls, target.host, target.port) == (True, "smtp.example", 2465)
    assert (target.username, target.password) == ("mailer@zenmux.ai", "s3cr:t")
    assert "s3cr" not in repr(target) and "s3cr" not in repr(config.settings())
    monkeypatch.setenv("ZENMUX_SMTP_URL", "smtp://u:p@relay.example")
    config.settings.cache_clear()
    assert (config.settings().smtp.implicit_tls, config.settings().smtp.port) == (False, 587)
    monkeypatch.setenv("ZENMUX_SMTP_URL", "http://user:hunter2@smtp.example")
    config.settings.cache_clear()
    with pytest.raises(config.ConfigError) as refused:
        config.settings()
    assert "hunter2" not in str(refused.value)
    monkeypatch.delenv("ZENMUX_SMTP_URL")
    config.settings.cache_clear()
    assert config.settings().smtp is None
    config.settings.cache_clear()
