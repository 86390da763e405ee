"""The Antom provider against a local gateway that speaks Antom's protocol and checks
our signatures with another crypto library (tests/support/antom_gateway.py).

paul's TOP-3002 is a $100.00 top-up charged CNY 720.00 through Antom; its refund is
CNY 677.08, sent as 67708 minor units. Real database (SQLite, and PostgreSQL when
ZENMUX_TEST_POSTGRES_URL is set), real HTTP, real RSA keys generated per test module.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select

from tests.support.antom_gateway import INQUIRY, REFUND, AntomGateway
from tests.integration._helpers import refund_actions, refund_events, refund_row
from zenmux_refunds import config, db
from zenmux_refunds.models import Account, Refund, TopupOrder
from zenmux_refunds.providers import ProviderError, RefundRequest, provider_for
from zenmux_refunds.providers import antom
from zenmux_refunds.services import ledger, provider_events, quotes, refunds

CLIENT_ID = "TEST_ZENMUX_0001"
PAYMENT_ID = "20261126194010800100188000003002"
PUBLIC_URL = "https://zenmux.example"
ACK = {"result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}}


@dataclass(frozen=True)
class Keys:
    our_private: str  # PKCS#8 PEM (what ANTOM_PRIVATE_KEY holds)
    our_public: str  # SubjectPublicKeyInfo PEM (what we would upload to Antom)
    gateway_private: str  # PKCS#1 PEM (the gateway's own key, for the rsa package)
    gateway_public: str  # SubjectPublicKeyInfo PEM (what ANTOM_PUBLIC_KEY holds)
    stranger_private: str  # PKCS#8 PEM of a key nobody trusts
    stranger_private_pkcs1: str


def _private_pem(key, fmt) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption()).decode()


def _public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys() -> Keys:
    ours, theirs, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                              for _ in range(3))
    pkcs8, pkcs1 = (serialization.PrivateFormat.PKCS8,
                    serialization.PrivateFormat.TraditionalOpenSSL)
    return Keys(_private_pem(ours, pkcs8), _public_pem(ours), _private_pem(theirs, pkcs1),
                _public_pem(theirs), _private_pem(stranger, pkcs8),
                _private_pem(stranger, pkcs1))


@pytest.fixture
def gateway(keys):
    with AntomGateway(client_id=CLIENT_ID, merchant_public_key_pem=keys.our_public,
                      private_key_pem=keys.gateway_private,
                      other_private_key_pem=keys.stranger_private_pkcs1, slow_seconds=1.6) as gw:
        gw.add_payment(PAYMENT_ID, "CNY", 72000)
        yield gw


@pytest.fixture
def antom_db(example_db, gateway, keys, monkeypatch):
    """The example database with Antom configured against the local gateway."""
    monkeypatch.setenv("ANTOM_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ANTOM_PRIVATE_KEY", keys.our_private)
    monkeypatch.setenv("ANTOM_PUBLIC_KEY", keys.gateway_public)
    monkeypatch.setenv("ANTOM_BASE_URL", gateway.url)
    monkeypatch.setenv("ZENMUX_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("ZENMUX_PROVIDER_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("ZENMUX_RECONCILE_AFTER_SECONDS", "0")
    config.settings.cache_clear()
    with db.transaction() as s:
        order = s.exec(select(TopupOrder).where(TopupOrder.ref == "TOP-3002")).one()
        assert (order.channel, order.charged_currency, order.charged_minor) == ("antom", "CNY",
                                                                                 72000)
        order.provider_payment_id = PAYMENT_ID
        s.add(order)
    yield gateway
    config.settings.cache_clear()


# ------------------------------------------------------------------------ helpers


def _paul() -> Account:
    with db.reading() as s:
        return s.exec(select(Account).where(Account.ref == "paul")).one()


def _approve() -> Refund:
    paul = _paul()
    with db.reading() as s:
        kind, order_id = quotes.order_id_by_ref(s, paul, "TOP-3002")
    approved = refunds.approve(account_id=paul.id, kind=kind, order_id=order_id,
                               preview_final_cents=None, actor=paul.email)
    return refund_row(approved.refund_id)


def _balances() -> ledger.Balances:
    with db.reading() as s:
        return ledger.balances(s, _paul().id)


def _assert_ledger_consistent() -> None:
    with db.reading() as s:
        for account in s.exec(select(Account)).all():
            assert ledger.balances(s, account.id) == ledger.ledger_sums(s, account.id), account.ref


def _notify(gateway: AntomGateway, key: str, **kwargs) -> tuple[int, dict]:
    headers, body = gateway.notification(key, **kwargs)
    status, answer_headers, answer = provider_events.antom_notification(headers, body)
    assert answer_headers["Content-Type"].startswith("application/json")
    return status, json.loads(answer)


# ------------------------------------------------------------------------ tests


def test_refund_is_sent_signed_in_cny_and_settled_by_the_notification(antom_db):
    gateway = antom_db
    before = _balances()
    refund = _approve()
    assert (refund.currency, refund.final_minor) == ("CNY", 67708)
    assert _balances().topup_micros < before.topup_micros  # debited at approval

    assert refunds.send(refund.id) == "refunding"  # S: accepted, the verdict comes later

    [call] = gateway.calls(REFUND)
    assert gateway.problems == []  # the gateway verified our signature (with `rsa`)
    assert call.json == {
        "refundRequestId": refund.idempotency_key,
        "paymentId": PAYMENT_ID,
        "refundAmount": {"currency": "CNY", "value": "67708"},
        "refundReason": f"ZenMux refund {refund.ref} of TOP-3002",
        "refundNotifyUrl": f"{PUBLIC_URL}/api/antom/notify",
    }
    assert call.headers["client-id"] == CLIENT_ID
    assert call.headers["request-time"].isdigit()
    assert call.headers["content-type"] == "application/json; charset=UTF-8"
    assert call.headers["signature"].startswith("algorithm=RSA256,keyVersion=1,signature=")
    stored = gateway.refunds[refund.idempotency_key]
    assert (stored.currency, stored.value, stored.status) == ("CNY", 67708, "PROCESSING")
    assert refund_row(refund.id).provider_refund_id == stored.refund_id
    assert refund_actions(refund.id)[-1] == "sent"

    gateway.settle(refund.idempotency_key, "SUCCESS")
    status, answer = _notify(gateway, refund.idempotency_key)
    assert (status, answer) == (200, ACK)
    after = refund_row(refund.id)
    assert after.status == "refunded" and after.provider_refund_id == stored.refund_id
    [done] = [e for e in refund_events(refund.id) if e.action == "refunded"]
    assert done.actor == "provider:antom" and "SUCCESS" in done.detail
    _assert_ledger_consistent()


def test_a_refusal_fails_the_refund_and_recredits_the_wallet_exactly(antom_db):
    gateway = antom_db
    before = _balances()
    refund = _approve()
    gateway.script(REFUND, "F")
    assert refunds.send(refund.id) == "failed"
    assert _balances() == before
    _assert_ledger_consistent()
    [failed] = [e for e in refund_events(refund.id) if e.action == "failed"]
    assert "REFUND_WINDOW_EXCEED" in failed.detail
    assert gateway.refunds_created == 0 and gateway.problems == []


def test_a_failed_notification_after_acceptance_recredits_the_wallet(antom_db):
    gateway = antom_db
    before = _balances()
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "FAIL")
    status, answer = _notify(gateway, refund.idempotency_key)
    assert (status, answer) == (200, ACK)
    assert refund_row(refund.id).status == "failed"
    assert _balances() == before
    _assert_ledger_consistent()


def test_a_success_notification_after_a_failure_needs_attention_once(antom_db):
    """Antom failed the refund (we re-credited the wallet), then notifies SUCCESS: the
    money went out after all. The refund stays Failed, is flagged for support with
    Antom's notification as evidence, the ledger is untouched; a repeat adds nothing."""
    gateway = antom_db
    before = _balances()
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "FAIL")
    assert _notify(gateway, refund.idempotency_key) == (200, ACK)
    assert refund_row(refund.id).status == "failed" and _balances() == before

    gateway.settle(refund.idempotency_key, "SUCCESS")
    for _ in range(3):
        assert _notify(gateway, refund.idempotency_key) == (200, ACK)

    row = refund_row(refund.id)
    assert (row.status, row.attention) == ("failed", "paid_after_close")
    flagged = [e for e in refund_events(refund.id) if e.action == "needs_attention"]
    assert len(flagged) == 1 and flagged[0].actor == "provider:antom"
    evidence = json.loads(flagged[0].detail)
    assert evidence["provider_detail"].startswith("antom notifyRefund SUCCESS")
    assert "CNY 67708 minor units" in evidence["provider_detail"]
    assert _balances() == before
    _assert_ledger_consistent()


@pytest.mark.parametrize("first_answer", ["U", "500"])
def test_an_unknown_answer_is_retried_unchanged_and_refunds_once(antom_db, first_answer):
    gateway = antom_db
    refund = _approve()
    gateway.script(REFUND, first_answer, "S")
    assert refunds.send(refund.id) == "refunding"
    first, second = gateway.calls(REFUND)
    assert first.body == second.body  # the same request, same refundRequestId
    assert first.json["refundRequestId"] == refund.idempotency_key
    assert gateway.refunds_created == 1 and gateway.problems == []
    assert "provider_error" not in refund_actions(refund.id)


def test_unknown_answers_are_retried_a_bounded_number_of_times(antom_db):
    gateway = antom_db
    refund = _approve()
    before_send = _balances()
    gateway.script(REFUND, "U", "U", "U", "U")
    assert refunds.send(refund.id) == "refunding"
    assert len(gateway.calls(REFUND)) == 1 + antom.RETRIES
    assert refund_actions(refund.id)[-1] == "provider_error"
    assert refund_row(refund.id).status == "refunding"
    assert _balances() == before_send  # still debited: nothing decided


def test_a_timeout_leaves_refunding_and_the_reconciler_finishes_it(antom_db):
    gateway = antom_db
    refund = _approve()
    gateway.script(REFUND, "timeout", "timeout", "timeout")
    started = time.monotonic()
    assert refunds.send(refund.id) == "refunding"
    assert time.monotonic() - started < 10
    calls = gateway.calls(REFUND)
    assert len(calls) == 1 + antom.RETRIES
    assert {c.body for c in calls} == {calls[0].body}
    assert gateway.refunds_created == 1  # it arrived; only the answers were lost
    [error] = [e for e in refund_events(refund.id) if e.action == "provider_error"]
    assert "no answer within 1s" in error.detail
    assert refund_row(refund.id).status == "refunding"

    # Still processing at Antom: the reconciler asks and leaves it alone.
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunding"
    gateway.settle(refund.idempotency_key, "SUCCESS")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunded"
    assert [c.json for c in gateway.calls(INQUIRY)] == [
        {"refundRequestId": refund.idempotency_key}] * 2
    assert gateway.refunds_created == 1 and gateway.problems == []
    _assert_ledger_consistent()


@pytest.mark.parametrize("not_found", [
    pytest.param(None, id="S-with-no-refund-fields"),
    pytest.param("ORDER_NOT_EXIST", id="F-ORDER_NOT_EXIST"),
    pytest.param("ORIGINAL_PAYMENT_NOT_EXIST", id="F-ORIGINAL_PAYMENT_NOT_EXIST"),
    pytest.param("REFUND_NOT_EXIST", id="F-REFUND_NOT_EXIST"),
])
def test_a_submission_that_never_arrived_is_sent_again_by_the_reconciler(antom_db, not_found):
    """Antom has no record of the refund: inquiryRefund answers S with no refund fields
    (as documented: they "are null when the refund record cannot be found") or F with a
    not-found code. The reconciler submits it again, the very same request (Antom
    deduplicates on refundRequestId), and the refund settles."""
    gateway = antom_db
    gateway.inquiry_not_found = not_found
    refund = _approve()
    gateway.script(REFUND, "timeout_unprocessed", "timeout_unprocessed", "500")
    assert refunds.send(refund.id) == "refunding"
    assert gateway.refunds == {}  # nothing reached Antom
    first_body = gateway.calls(REFUND)[0].body

    assert refunds.process_refunding() == 1  # inquiry: no record -> submit again
    assert [c.api for c in gateway.calls(INQUIRY)] == [INQUIRY]
    assert gateway.refunds_created == 1
    assert gateway.calls(REFUND)[-1].body == first_body  # same refundRequestId, same body
    assert refund_row(refund.id).status == "refunding"
    assert refund_actions(refund.id)[-1] == "inquired"

    gateway.settle(refund.idempotency_key, "SUCCESS")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunded"
    assert gateway.refunds_created == 1 and gateway.problems == []
    _assert_ledger_consistent()


def test_a_pending_refund_stays_refunding_and_is_asked_again(antom_db):
    gateway = antom_db
    refund = _approve()
    debited = _balances()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "PENDING")
    for _ in range(2):
        assert refunds.process_refunding() == 1
        assert refund_row(refund.id).status == "refunding"
        assert refund_actions(refund.id)[-1] == "inquired"  # an answer, not an error
    assert "provider_error" not in refund_actions(refund.id)
    assert _balances() == debited
    gateway.settle(refund.idempotency_key, "SUCCESS")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunded"
    _assert_ledger_consistent()


def test_a_cancelled_refund_fails_with_the_reason_in_the_audit_trail(antom_db):
    gateway = antom_db
    before = _balances()
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    stored = gateway.settle(refund.idempotency_key, "CANCELLED")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "failed"
    assert _balances() == before  # re-credited exactly
    [failed] = [e for e in refund_events(refund.id) if e.action == "failed"]
    assert failed.actor == "provider:antom"
    assert "CANCELLED" in failed.detail and stored.refund_id in failed.detail
    assert "None" not in failed.detail
    _assert_ledger_consistent()


@pytest.mark.parametrize("acquirer_info", [
    None,
    {"acquirerName": "ALIPAY_CN", "acquirerResultCode": "USER_ACCOUNT_ABNORMAL",
     "acquirerResultMessage": "the buyer's account is frozen"},
], ids=["bare", "with-acquirerInfo"])
def test_a_failed_refund_records_what_the_inquiry_answer_carries(antom_db, acquirer_info):
    gateway = antom_db
    before = _balances()
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    stored = gateway.settle(refund.idempotency_key, "FAIL", acquirer_info=acquirer_info)
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "failed"
    assert _balances() == before
    [failed] = [e for e in refund_events(refund.id) if e.action == "failed"]
    assert "None" not in failed.detail
    assert "FAIL" in failed.detail and stored.refund_id in failed.detail
    assert "SUCCESS: success" in failed.detail  # result.resultCode / resultMessage
    if acquirer_info:
        assert "USER_ACCOUNT_ABNORMAL" in failed.detail
        assert "the buyer's account is frozen" in failed.detail


def test_an_unknown_refund_status_is_pending_and_logged_once(antom_db, caplog, monkeypatch):
    gateway = antom_db
    monkeypatch.setattr(antom, "_unknown_statuses_logged", set())  # once per process
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "REVERSAL_IN_PROGRESS", unknown=True)
    with caplog.at_level("WARNING", logger=antom.log.name):
        for _ in range(3):
            assert refunds.process_refunding() == 1
            assert refund_row(refund.id).status == "refunding"
            assert refund_actions(refund.id)[-1] == "inquired"
    logged = [r for r in caplog.records if "REVERSAL_IN_PROGRESS" in r.getMessage()]
    assert len(logged) == 1
    gateway.settle(refund.idempotency_key, "SUCCESS")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunded"


@pytest.mark.parametrize("forgery", ["stranger_key", "unsigned", "tampered_body", "other_path",
                                     "other_client"])
def test_a_forged_notification_is_rejected_and_changes_nothing(antom_db, forgery):
    gateway = antom_db
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "SUCCESS")
    before_events, before_balances = refund_actions(refund.id), _balances()

    if forgery == "stranger_key":
        headers, body = gateway.notification(refund.idempotency_key,
                                             signing_key=gateway.other_key())
    elif forgery == "other_client":
        headers, body = gateway.notification(refund.idempotency_key, client_id="SOMEONE_ELSE")
    elif forgery == "other_path":
        headers, body = gateway.notification(refund.idempotency_key, path="/api/other")
    else:
        headers, body = gateway.notification(refund.idempotency_key)
        if forgery == "unsigned":
            headers = {k: v for k, v in headers.items() if k.lower() != "signature"}
        else:  # a genuine signature over another body
            body = body.replace(b'"refundStatus":"SUCCESS"', b'"refundStatus":"FAIL"')
            assert b'"FAIL"' in body
    status, _headers, answer = provider_events.antom_notification(headers, body)
    assert status == 400
    assert json.loads(answer)["result"]["resultStatus"] == "F"
    assert refund_row(refund.id).status == "refunding"
    assert refund_actions(refund.id) == before_events and _balances() == before_balances


def test_the_same_notification_five_times_settles_once(antom_db):
    gateway = antom_db
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "SUCCESS")
    headers, body = gateway.notification(refund.idempotency_key)
    upper = {k.upper(): v for k, v in headers.items()}  # header names are case-insensitive
    for _ in range(5):
        status, _h, answer = provider_events.antom_notification(upper, body)
        assert (status, json.loads(answer)) == (200, ACK)
    assert refund_actions(refund.id).count("refunded") == 1
    assert refund_row(refund.id).status == "refunded"
    _assert_ledger_consistent()


@pytest.mark.parametrize("answer", ["forged", "unsigned", "tampered"])
def test_an_answer_with_a_bad_signature_is_not_trusted(antom_db, answer):
    gateway = antom_db
    refund = _approve()
    debited = _balances()
    gateway.script(REFUND, answer)
    assert refunds.send(refund.id) == "refunding"  # not Failed, not Refunded
    [error] = [e for e in refund_events(refund.id) if e.action == "provider_error"]
    assert "not trusted" in error.detail
    assert _balances() == debited
    assert len(gateway.calls(REFUND)) == 1 and gateway.problems == []


def test_the_gateway_refuses_a_request_signed_with_another_key(antom_db, keys, monkeypatch):
    # The check of the tests themselves: a wrong signature is caught by the gateway.
    gateway = antom_db
    monkeypatch.setenv("ANTOM_PRIVATE_KEY", keys.stranger_private)
    config.settings.cache_clear()
    refund = _approve()
    refunds.send(refund.id)
    assert gateway.problems and "does not verify" in gateway.problems[0]
    assert gateway.refunds_created == 0


def test_an_inquiry_failure_that_is_not_a_verdict_keeps_refunding(antom_db):
    gateway = antom_db
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.script(INQUIRY, "U", "U", "U")
    assert refunds.process_refunding() == 1
    assert refund_row(refund.id).status == "refunding"
    assert refund_actions(refund.id)[-1] == "provider_error"


def test_the_provider_is_chosen_by_configuration_and_reports_bad_keys(antom_db, monkeypatch):
    assert provider_for("antom").name == "antom"
    monkeypatch.setenv("ANTOM_PUBLIC_KEY", "")
    config.settings.cache_clear()
    provider = provider_for("antom")
    request = RefundRequest(
        refund_id=1, refund_ref="RF-X", idempotency_key="zr_x", order_kind="topup",
        order_ref="TOP-3002", channel="antom", provider_payment_id=PAYMENT_ID,
        provider_subscription_id=None, currency="CNY", amount_minor=67708,
        sandbox_outcome="succeed", submitted_at=None)
    for ask in (provider.submit, provider.inquire):
        with pytest.raises(ProviderError, match="ANTOM_PUBLIC_KEY is not set"):
            ask(request)  # the keys are checked before anything is sent
    assert antom_db.requests == []


def test_a_notification_posted_over_http_reaches_the_refund(antom_db, monkeypatch):
    """The gateway posts notifyRefund to the refundNotifyUrl it was given."""
    gateway = antom_db

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, headers, answer = provider_events.antom_notification(dict(self.headers), body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        public_url = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("ZENMUX_PUBLIC_URL", public_url)
        config.settings.cache_clear()
        refund = _approve()
        assert refunds.send(refund.id) == "refunding"
        assert gateway.refunds[refund.idempotency_key].notify_url == \
            f"{public_url}/api/antom/notify"
        gateway.settle(refund.idempotency_key, "SUCCESS")
        status, answer = gateway.deliver_notification(refund.idempotency_key)
        assert (status, json.loads(answer)) == (200, ACK)
        assert refund_row(refund.id).status == "refunded"
    finally:
        server.shutdown()
        server.server_close()


def test_the_app_route_verifies_and_applies_the_notification(antom_db):
    from starlette.testclient import TestClient

    from zenmux_refunds import api

    gateway = antom_db
    refund = _approve()
    assert refunds.send(refund.id) == "refunding"
    gateway.settle(refund.idempotency_key, "SUCCESS")
    headers, body = gateway.notification(refund.idempotency_key)
    with TestClient(api.build()) as client:
        forged = client.post(api.ANTOM_NOTIFY_PATH, content=body.replace(b"SUCCESS", b"FAIL"),
                             headers=headers)
        assert forged.status_code == 400
        assert refund_row(refund.id).status == "refunding"
        answer = client.post(api.ANTOM_NOTIFY_PATH, content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (200, ACK)
    assert refund_row(refund.id).status == "refunded"
