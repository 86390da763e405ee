"""A local Antom gateway for the tests: it speaks the refund protocol of SPEC §4.

It runs a stdlib HTTP server in a thread on a free 127.0.0.1 port and:

- verifies the merchant's request signatures with the pure-Python ``rsa`` package (a
  different crypto library from the app's ``cryptography``, so one bug cannot hide in
  both) over ``"POST <path>\\n<client-id>.<request-time>.<body>"``; every request that
  fails a check is answered ``F INVALID_SIGNATURE`` / ``PARAM_ILLEGAL`` as Antom does
  and is also listed in ``problems`` for the test to assert on;
- signs its answers with its own private key (``client-id``, ``response-time`` and
  ``signature`` headers);
- keeps payments and refunds; refunds are keyed by ``refundRequestId``: a request with a
  known ``refundRequestId`` returns the same refund, never a second one;
- can be scripted per API call (``script("refund", "U", "S")``): ``S`` (the default:
  do the work and answer), ``F`` (refuse), ``U`` (answer unknown, do nothing), ``500``,
  ``timeout`` (do the work, answer too late), ``timeout_unprocessed`` (answer too late
  and do nothing), ``forged`` (answer signed with another key), ``unsigned``, and
  ``tampered`` (a genuine signature over a different body);
- answers ``inquiryRefund`` as Antom documents it (docs.antom.com/ac/ams/ir: refundId,
  refundRequestId, refundAmount and refundStatus "are null when the refund record cannot
  be found"): with no record it answers ``S`` with no refund fields, or, when
  ``inquiry_not_found`` names a code, ``F`` with that code (the not-found forms seen in
  the wild: ORDER_NOT_EXIST, REFUND_NOT_EXIST, ...). A refund's status is any of the
  SDK's ``TransactionStatusType`` (SUCCESS, FAIL, PROCESSING, CANCELLED, PENDING), or,
  for the tests of the unexpected, any other string (``settle(..., unknown=True)``). Its
  answer carries no ``refundResultCode`` (the inquiry response has none); a failure
  reason travels, when given, in ``acquirerInfo`` as the SDK names it;
- builds signed ``notifyRefund`` notifications (``notification``) and can post them to
  the ``refundNotifyUrl`` it was given (``deliver_notification``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

import rsa

REFUND = "refund"
INQUIRY = "inquiryRefund"
_PATHS = {
    "/ams/api/v1/payments/refund": REFUND,
    "/ams/sandbox/api/v1/payments/refund": REFUND,
    "/ams/api/v1/payments/inquiryRefund": INQUIRY,
    "/ams/sandbox/api/v1/payments/inquiryRefund": INQUIRY,
}
BEHAVIOURS = {"S", "F", "U", "500", "timeout", "timeout_unprocessed", "forged", "unsigned",
              "tampered"}
# The SDK's TransactionStatusType (com/alipay/ams/api/model/transaction_status_type.py),
# the type of AlipayInquiryRefundResponse.refund_status.
REFUND_STATUSES = ("SUCCESS", "FAIL", "PROCESSING", "CANCELLED", "PENDING")
_SIGNATURE_HEADER = re.compile(r"^algorithm=RSA256,keyVersion=(\d+),signature=([A-Za-z0-9%]+)$")


def _result(code: str, status: str, message: str) -> dict:
    return {"resultCode": code, "resultStatus": status, "resultMessage": message}


def _now_ms() -> str:
    return str(time.time_ns() // 1_000_000)


def _dumps(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _content(path: str, client_id: str, time_text: str, body: bytes) -> bytes:
    return f"POST {path}\n{client_id}.{time_text}.".encode("utf-8") + body


def _sign(key: rsa.PrivateKey, path: str, client_id: str, time_text: str, body: bytes) -> str:
    raw = rsa.sign(_content(path, client_id, time_text, body), key, "SHA-256")
    return "algorithm=RSA256,keyVersion=1,signature=" + quote(
        base64.b64encode(raw).decode("ascii"), safe="")


@dataclass
class Received:
    """One request as the gateway saw it."""

    api: str | None
    path: str
    headers: dict[str, str]
    body: bytes
    json: dict | None
    behaviour: str
    problems: list[str] = field(default_factory=list)


@dataclass
class GatewayRefund:
    refund_id: str
    refund_request_id: str
    payment_id: str
    currency: str
    value: int
    status: str  # one of REFUND_STATUSES (or, scripted, anything)
    notify_url: str | None
    result_code: str = "SUCCESS"
    result_message: str = "success"
    refused: bool = False  # answered F at once (never accepted)
    acquirer_info: dict | None = None  # sent in inquiryRefund answers when set


class AntomGateway:
    def __init__(self, *, client_id: str, merchant_public_key_pem: str,
                 private_key_pem: str, other_private_key_pem: str | None = None,
                 slow_seconds: float = 1.6, max_clock_skew_seconds: int = 300):
        """``merchant_public_key_pem``: SubjectPublicKeyInfo PEM of the merchant's key;
        ``private_key_pem``: this gateway's PKCS#1 RSA private key (PEM);
        ``other_private_key_pem``: a PKCS#1 key nobody trusts, for forged answers
        (generated when needed if not given); ``slow_seconds``: how late a scripted
        timeout answers (longer than the client's timeout)."""
        self.client_id = client_id
        self.merchant_key = rsa.PublicKey.load_pkcs1_openssl_pem(merchant_public_key_pem.encode())
        self.key = rsa.PrivateKey.load_pkcs1(private_key_pem.encode())
        self.slow_seconds = slow_seconds
        self.max_skew_ms = max_clock_skew_seconds * 1000
        self._lock = threading.RLock()
        self.payments: dict[str, tuple[str, int]] = {}
        self.refunds: dict[str, GatewayRefund] = {}
        self.requests: list[Received] = []
        self.problems: list[str] = []
        self.refunds_created = 0
        # How inquiryRefund answers for a refund it has no record of: None = S with no
        # refund fields (Antom's documented answer); a code = F with that code.
        self.inquiry_not_found: str | None = None
        self._scripts: dict[str, deque[str]] = {REFUND: deque(), INQUIRY: deque()}
        self._other_key: rsa.PrivateKey | None = (
            rsa.PrivateKey.load_pkcs1(other_private_key_pem.encode())
            if other_private_key_pem else None)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> AntomGateway:
        gateway = self

        class Handler(_Handler):
            pass

        Handler.gateway = gateway
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="antom-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AntomGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ test controls

    def add_payment(self, payment_id: str, currency: str, amount_minor: int) -> None:
        with self._lock:
            self.payments[payment_id] = (currency, amount_minor)

    def script(self, api: str, *behaviours: str) -> None:
        """Queue how the next calls of ``api`` are answered (then ``S`` again)."""
        for behaviour in behaviours:
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {behaviour!r}")
        with self._lock:
            self._scripts[api].extend(behaviours)

    def settle(self, refund_request_id: str, status: str, *, result_code: str | None = None,
               result_message: str | None = None, acquirer_info: dict | None = None,
               unknown: bool = False) -> GatewayRefund:
        """The refund reaches a status: one of ``REFUND_STATUSES`` (the SDK's), or any
        string with ``unknown=True``. ``acquirer_info`` is sent in inquiry answers."""
        if status not in REFUND_STATUSES and not unknown:
            raise ValueError(status)
        with self._lock:
            refund = self.refunds[refund_request_id]
            refund.status = status
            refund.acquirer_info = acquirer_info
            refund.result_code = result_code or ("SUCCESS" if status == "SUCCESS"
                                                 else "REFUND_FAILED")
            refund.result_message = result_message or ("success" if status == "SUCCESS"
                                                       else "the wallet refused the refund")
            return refund

    def calls(self, api: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.api == api]

    def notification(self, refund_request_id: str, *, path: str | None = None,
                     request_time: str | None = None,
                     signing_key: rsa.PrivateKey | None = None,
                     client_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """A signed ``notifyRefund`` for the refund's current (final) status.

        ``path`` defaults to the path of the ``refundNotifyUrl`` the merchant sent;
        ``signing_key`` / ``client_id`` let a test forge one."""
        with self._lock:
            refund = self.refunds[refund_request_id]
            if refund.status not in ("SUCCESS", "FAIL"):
                raise ValueError("settle the refund before notifying")
            success = refund.status == "SUCCESS"
            payload = {
                "notifyType": "REFUND_RESULT",
                "result": _result(refund.result_code, "S" if success else "F",
                                  refund.result_message),
                "refundStatus": refund.status,
                "refundRequestId": refund.refund_request_id,
                "refundId": refund.refund_id,
                "refundAmount": {"currency": refund.currency, "value": str(refund.value)},
            }
            if success:
                payload["refundTime"] = "2026-11-26T20:01:01+08:00"
            notify_path = path or urlsplit(refund.notify_url or "/api/antom/notify").path
        body = _dumps(payload)
        when = request_time or _now_ms()
        cid = client_id or self.client_id
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "client-id": cid,
            "request-time": when,
            "signature": _sign(signing_key or self.key, notify_path, cid, when, body),
        }
        return headers, body

    def deliver_notification(self, refund_request_id: str,
                             url: str | None = None) -> tuple[int, bytes]:
        """POST the notification to ``url`` (default: the refund's refundNotifyUrl)."""
        with self._lock:
            target = url or self.refunds[refund_request_id].notify_url
        headers, body = self.notification(refund_request_id, path=urlsplit(target).path)
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def other_key(self) -> rsa.PrivateKey:
        """A key that is not the gateway's (for forged answers and notifications)."""
        with self._lock:
            if self._other_key is None:
                self._other_key = rsa.newkeys(1024)[1]
            return self._other_key

    # ------------------------------------------------------------------ protocol

    def _next_behaviour(self, api: str | None) -> str:
        with self._lock:
            queue = self._scripts.get(api)
            return queue.popleft() if queue else "S"

    def _check_request(self, path: str, headers: dict[str, str], body: bytes) -> list[str]:
        problems = []
        if not headers.get("content-type", "").lower().startswith("application/json"):
            problems.append(f"Content-Type is {headers.get('content-type')!r}")
        client_id = headers.get("client-id", "")
        if client_id != self.client_id:
            problems.append(f"client-id is {client_id!r}, expected {self.client_id!r}")
        request_time = headers.get("request-time", "")
        if not request_time.isdigit():
            problems.append(f"request-time {request_time!r} is not epoch milliseconds")
        elif abs(int(request_time) - int(_now_ms())) > self.max_skew_ms:
            problems.append(f"request-time {request_time} is too far from now")
        match = _SIGNATURE_HEADER.match(headers.get("signature", ""))
        if match is None:
            problems.append(f"Signature header malformed: {headers.get('signature')!r}")
            return problems
        try:
            raw = base64.b64decode(unquote(match.group(2)), validate=True)
            used = rsa.verify(_content(path, client_id, request_time, body), raw,
                              self.merchant_key)
            if used != "SHA-256":
                problems.append(f"signed with {used}, expected SHA-256")
        except (ValueError, rsa.VerificationError):
            problems.append("the request signature does not verify")
        return problems

    def _refund(self, req: dict) -> dict:
        """Do a refund request; the answer body (without transport concerns)."""
        key = req.get("refundRequestId")
        payment_id = req.get("paymentId")
        amount = req.get("refundAmount") if isinstance(req.get("refundAmount"), dict) else {}
        currency, value = amount.get("currency"), amount.get("value")
        if (not isinstance(key, str) or not key or len(key) > 64
                or not isinstance(payment_id, str) or not payment_id
                or not isinstance(currency, str) or len(currency) != 3
                or not isinstance(value, str) or not value.isdigit()):
            return {"result": _result("PARAM_ILLEGAL", "F", "illegal parameters")}
        value_minor = int(value)
        with self._lock:
            known = self.refunds.get(key)
            if known is not None:
                if (known.payment_id, known.currency, known.value) != (payment_id, currency,
                                                                       value_minor):
                    return {"result": _result("REPEAT_REQ_INCONSISTENT", "F",
                                              "the request differs from the previous one")}
                return self._refund_answer(known)
            payment = self.payments.get(payment_id)
            if payment is None:
                return {"result": _result("ORDER_NOT_EXIST", "F", "the order does not exist")}
            if payment[0] != currency:
                return {"result": _result("CURRENCY_NOT_SUPPORT", "F",
                                          "the currency differs from the payment's")}
            refunded = sum(r.value for r in self.refunds.values()
                           if r.payment_id == payment_id
                           and r.status not in ("FAIL", "CANCELLED"))
            if value_minor <= 0 or refunded + value_minor > payment[1]:
                return {"result": _result("REFUND_AMOUNT_EXCEED", "F",
                                          "the refund amount exceeds the payment")}
            refund = GatewayRefund(
                refund_id=f"2026{uuid.uuid4().hex[:24]}", refund_request_id=key,
                payment_id=payment_id, currency=currency, value=value_minor,
                status="PROCESSING", notify_url=req.get("refundNotifyUrl"))
            self.refunds[key] = refund
            self.refunds_created += 1
            return self._refund_answer(refund)

    def _refuse(self, req: dict) -> dict:
        """A scripted refusal; remembered, so the same refundRequestId is refused again."""
        key = req.get("refundRequestId")
        amount = req.get("refundAmount") if isinstance(req.get("refundAmount"), dict) else {}
        if not isinstance(key, str) or not key or not str(amount.get("value", "")).isdigit():
            return {"result": _result("PARAM_ILLEGAL", "F", "illegal parameters")}
        with self._lock:
            if key not in self.refunds:
                self.refunds[key] = GatewayRefund(
                    refund_id=f"2026{uuid.uuid4().hex[:24]}", refund_request_id=key,
                    payment_id=str(req.get("paymentId")), currency=str(amount.get("currency")),
                    value=int(amount.get("value") or 0), status="FAIL",
                    notify_url=req.get("refundNotifyUrl"),
                    result_code="REFUND_WINDOW_EXCEED",
                    result_message="the refund window is over", refused=True)
            return self._refund_answer(self.refunds[key])

    @staticmethod
    def _refund_answer(refund: GatewayRefund) -> dict:
        if refund.refused:
            return {"result": _result(refund.result_code, "F", refund.result_message)}
        return {
            "result": _result("SUCCESS", "S", "success"),
            "refundRequestId": refund.refund_request_id,
            "refundId": refund.refund_id,
            "paymentId": refund.payment_id,
            "refundAmount": {"currency": refund.currency, "value": str(refund.value)},
            "refundTime": "2026-11-26T20:00:00+08:00",
        }

    def _inquiry(self, req: dict) -> dict:
        key, refund_id = req.get("refundRequestId"), req.get("refundId")
        with self._lock:
            found = next((r for r in self.refunds.values()
                          if (refund_id and r.refund_id == refund_id)
                          or (not refund_id and r.refund_request_id == key)), None)
            if found is None:
                if self.inquiry_not_found:
                    return {"result": _result(self.inquiry_not_found, "F",
                                              "the refund does not exist")}
                return {"result": _result("SUCCESS", "S", "success")}
            answer = {
                "result": _result("SUCCESS", "S", "success"),
                "refundRequestId": found.refund_request_id,
                "refundId": found.refund_id,
                "refundAmount": {"currency": found.currency, "value": str(found.value)},
                "refundStatus": found.status,
            }
            if found.status == "SUCCESS":
                answer["refundTime"] = "2026-11-26T20:01:01+08:00"
            if found.acquirer_info:
                answer["acquirerInfo"] = dict(found.acquirer_info)
            return answer


class _Handler(BaseHTTPRequestHandler):
    gateway: AntomGateway

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        gw = self.gateway
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        api = _PATHS.get(path)
        behaviour = gw._next_behaviour(api)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        received = Received(api, path, headers, body, parsed if isinstance(parsed, dict)
                            else None, behaviour)
        received.problems = gw._check_request(path, headers, body)
        with gw._lock:
            gw.requests.append(received)
            gw.problems.extend(f"{path}: {p}" for p in received.problems)
        if api is None:
            self._plain(404, b"not found")
            return
        if received.problems:
            code = ("INVALID_SIGNATURE" if any("signature" in p.lower() or "client-id" in p
                                               for p in received.problems)
                    else "PARAM_ILLEGAL")
            self._signed(path, {"result": _result(code, "F", "; ".join(received.problems))})
            return
        if received.json is None:
            self._signed(path, {"result": _result("PARAM_ILLEGAL", "F", "body is not JSON")})
            return
        if behaviour == "500":
            self._plain(500, b"internal error")
            return
        if behaviour == "U":
            self._signed(path, {"result": _result("UNKNOWN_EXCEPTION", "U",
                                                  "unknown, try again")})
            return
        if behaviour == "timeout_unprocessed":
            time.sleep(gw.slow_seconds)
            self._plain(504, b"too late")
            return
        if api == REFUND:
            answer = gw._refuse(received.json) if behaviour == "F" else gw._refund(received.json)
        else:
            answer = gw._inquiry(received.json)
        if behaviour == "timeout":
            time.sleep(gw.slow_seconds)
        if behaviour == "forged":
            self._signed(path, answer, key=gw.other_key())
        elif behaviour == "unsigned":
            self._send(200, _dumps(answer), {"client-id": gw.client_id,
                                             "response-time": _now_ms()})
        elif behaviour == "tampered":
            # A genuine signature over the real answer, delivered with another body.
            when = _now_ms()
            signature = _sign(gw.key, path, gw.client_id, when, _dumps(answer))
            forged = {"result": _result("REFUND_AMOUNT_EXCEED", "F", "tampered on the way")}
            self._send(200, _dumps(forged), {"client-id": gw.client_id,
                                             "response-time": when, "signature": signature})
        else:
            self._signed(path, answer)

    def _signed(self, path: str, payload: dict, *, key: rsa.PrivateKey | None = None) -> None:
        gw = self.gateway
        body = _dumps(payload)
        when = _now_ms()
        self._send(200, body, {"client-id": gw.client_id, "response-time": when,
                               "signature": _sign(key or gw.key, path, gw.client_id, when,
                                                  body)})

    def _plain(self, status: int, body: bytes) -> None:
        self._send(status, body, {}, content_type="text/plain")

    def _send(self, status: int, body: bytes, headers: dict[str, str], *,
              content_type: str = "application/json; charset=UTF-8") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a scripted timeout)
