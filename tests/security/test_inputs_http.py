"""Hostile inputs to the HTTP endpoints of a real production build: the usage feed,
Stripe's webhook and Antom's notifications. Each bad input gets a 4xx naming what is
wrong (never a 500) and changes nothing in the database; a good call still works.
Antom notifications must also be fresh (request-time within the tolerance)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.appserver import USAGE_TOKEN

CLIENT_ID = "TEST_ZENMUX_0001"
WEBHOOK_SECRET = "whsec_test_inputs_http"
NOTIFY_PATH = "/api/antom/notify"

_KEYS = Path(tempfile.mkdtemp(prefix="zenmux-antom-keys-"))
_antom_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # Antom's own
_our_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
(_KEYS / "ours.pem").write_bytes(_our_key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
(_KEYS / "antom.pub.pem").write_bytes(_antom_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

SERVER_ENV = {
    "ANTOM_CLIENT_ID": CLIENT_ID,
    "ANTOM_PRIVATE_KEY_FILE": str(_KEYS / "ours.pem"),
    "ANTOM_PUBLIC_KEY_FILE": str(_KEYS / "antom.pub.pem"),
    "ANTOM_BASE_URL": "http://127.0.0.1:9",  # never called by these tests
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}

WORLD = ("select (select count(*) from usagerecord), (select count(*) from ledgerentry), "
         "(select coalesce(sum(usage_credits_micros), 0) from account), "
         "(select count(*) from refund), (select count(*) from refundevent)")


def _world(server):
    return server.rows(WORLD)


# ------------------------------------------------------------------ usage feed


def _usage(server, body: bytes) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/usage", content=body, timeout=15,
                      headers={"Authorization": f"Bearer {USAGE_TOKEN}",
                               "Content-Type": "application/json"})


def _call(**over) -> bytes:
    call = {"call_id": "call-inputs-1", "account": "paul", "amount": "1.234567",
            "at": "2026-11-26T11:00:00Z"}
    call.update(over)
    return json.dumps(call).encode()


BAD_USAGE = {
    "30-digit amount": (_call(amount="1" * 30), "amount"),
    "amount past int64 micros": (_call(amount="9223372036854.775808"), "amount"),
    "year 1 at +14:00": (_call(at="0001-01-01T00:00:00+14:00"), "at"),
    "year 9999 at -14:00": (_call(at="9999-12-31T23:59:59-14:00"), "at"),
    "invalid UTF-8": (b'{"call_id": "\xff\xfe", "account": "paul"}', "body"),
    "huge call_id": (_call(call_id="c" * 60_000), "call_id"),
    "huge account": (_call(account="p" * 60_000), "account"),
    "huge billed_to": (_call(billed_to="b" * 60_000), "billed_to"),
    "deeply nested JSON": (b"[" * 20_000 + b"]" * 20_000, "body"),
    "number as amount": (_call(amount=10 ** 40), "amount"),
}


@pytest.mark.parametrize("case", list(BAD_USAGE))
def test_bad_usage_input_is_a_400_naming_the_field_and_changes_nothing(server, case):
    body, field = BAD_USAGE[case]
    before = _world(server)
    r = _usage(server, body[:64 * 1024])
    assert r.status_code == 400, (case, r.status_code, r.text[:300])
    assert r.json()["error"].startswith(f"{field}:"), (case, r.json())
    assert len(r.json()["error"]) < 400  # the message does not echo a huge value back
    assert _world(server) == before


def test_a_good_usage_call_is_recorded(server):
    before = _world(server)
    r = _usage(server, _call(call_id=f"call-ok-{time.time_ns()}"))
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] is True
    assert _world(server)[0][0] == before[0][0] + 1


# ------------------------------------------------------------------ Stripe webhook


def _stripe(server, body: bytes, *, signed: bool = True) -> httpx.Response:
    t = int(time.time())
    sig = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={t},v1={sig}" if signed else "t=1,v1=00",
               "Content-Type": "application/json"}
    return httpx.post(f"{server.base_url}/api/stripe/webhook", content=body,
                      headers=headers, timeout=15)


def _refund_event(metadata: dict) -> bytes:
    return json.dumps({
        "id": "evt_inputs", "object": "event", "api_version": "2025-09-30.clover",
        "created": int(time.time()), "type": "refund.updated",
        "data": {"object": {"id": "re_inputs", "object": "refund", "status": "succeeded",
                            "metadata": metadata}},
    }).encode()


BAD_STRIPE = {
    "invalid UTF-8, unsigned": (b'{"id": "\xff"}', False),
    "invalid UTF-8, signed": (b'{"id": "\xff"}', True),
    "deeply nested, signed": (b"[" * 20_000 + b"]" * 20_000, True),
    "30-digit refund id": (_refund_event({"zenmux_refund_id": "9" * 30,
                                          "zenmux_refund_ref": "R-1"}), True),
    "5000-digit refund id": (_refund_event({"zenmux_refund_id": "9" * 5000,
                                            "zenmux_refund_ref": "R-1"}), True),
    "unicode digits as refund id": (_refund_event({"zenmux_refund_id": "\u00b2",
                                                   "zenmux_refund_ref": "R-1"}), True),
}


@pytest.mark.parametrize("case", list(BAD_STRIPE))
def test_hostile_stripe_webhooks_never_crash_and_change_nothing(server, case):
    body, signed = BAD_STRIPE[case]
    before = _world(server)
    r = _stripe(server, body[:64 * 1024], signed=signed)
    assert r.status_code < 500, (case, r.status_code, r.text[:300])
    assert _world(server) == before


# ------------------------------------------------------------------ Antom notifications


def _antom(server, payload, *, request_time: str | None = None,
           raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    when = request_time or str(time.time_ns() // 1_000_000)
    content = f"POST {NOTIFY_PATH}\n{CLIENT_ID}.{when}.".encode() + body
    signature = quote(base64.b64encode(_antom_key.sign(
        content, padding.PKCS1v15(), hashes.SHA256())).decode(), safe="")
    headers = {"Content-Type": "application/json; charset=UTF-8", "client-id": CLIENT_ID,
               "request-time": when,
               "signature": f"algorithm=RSA256,keyVersion=1,signature={signature}"}
    return httpx.post(f"{server.base_url}{NOTIFY_PATH}", content=body, headers=headers,
                      timeout=15)


def _notify_payload(key="unknown-refund-request", **over) -> dict:
    payload = {"notifyType": "REFUND_RESULT",
               "result": {"resultCode": "SUCCESS", "resultStatus": "S",
                          "resultMessage": "success"},
               "refundStatus": "SUCCESS", "refundRequestId": key, "refundId": "2026abc",
               "refundAmount": {"currency": "CNY", "value": "67708"}}
    payload.update(over)
    return payload


def test_a_fresh_signed_antom_notification_is_processed(server):
    r = _antom(server, _notify_payload())
    assert r.status_code == 200, r.text
    assert r.json()["result"]["resultStatus"] == "S"


@pytest.mark.parametrize("request_time", [
    "978307200000",  # 2001-01-01, correctly signed: a replay
    str(time.time_ns() // 1_000_000 + 3_600_000),  # an hour ahead
    "9" * 5000,  # absurd
    "not-a-time",
])
def test_a_stale_or_absurd_antom_notification_is_refused(server, request_time):
    before = _world(server)
    r = _antom(server, _notify_payload(), request_time=request_time)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.json()["result"]["resultStatus"] == "F"
    assert _world(server) == before


BAD_ANTOM = {
    "invalid UTF-8": dict(raw=b'{"notifyType": "\xff"}'),
    "deeply nested": dict(raw=b"[" * 20_000 + b"]" * 20_000),
    "huge integer refundRequestId": dict(payload=_notify_payload(key=10 ** 30)),
    "object refundRequestId": dict(payload=_notify_payload(key={"a": 1})),
    "huge refundRequestId": dict(payload=_notify_payload(key="k" * 50_000)),
}


@pytest.mark.parametrize("case", list(BAD_ANTOM))
def test_hostile_signed_antom_notifications_never_crash(server, case):
    before = _world(server)
    r = _antom(server, BAD_ANTOM[case].get("payload"), raw=BAD_ANTOM[case].get("raw"))
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text[:300])
    assert _world(server) == before
