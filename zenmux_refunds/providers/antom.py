"""The Antom (Alipay) provider: refunds over Antom's HTTP API, signed with RSA-SHA256.

Protocol (SPEC §4, Antom's "Sign a request and verify the signature" page):

- Every request is signed over ``"POST <path>\\n<client-id>.<request-time>.<body>"``
  with our private key (RSA, PKCS#1 v1.5, SHA-256) and sent with the headers
  ``client-id``, ``request-time`` (epoch milliseconds) and
  ``Signature: algorithm=RSA256,keyVersion=1,signature=<url-encoded base64>``.
- Every response is verified with Antom's public key over
  ``"POST <path>\\n<client-id>.<response-time>.<body>"`` (its ``response-time`` and
  ``client-id`` headers). An answer that cannot be verified is not an answer: it is
  treated like no answer at all (ProviderError), never as a verdict.
- A notification is verified the same way over
  ``"POST <path of our notify URL>\\n<client-id>.<request-time>.<body>"``. Our
  acknowledgement is the fixed body Antom asks for, unsigned (Antom: "you do not need to
  sign the response for the notification").

Verdicts:

- ``refund`` ``resultStatus`` S means Antom *accepted* the refund (the refund itself may
  still be processing at the wallet or bank): we report PENDING and the verdict comes
  from ``notifyRefund`` or, failing that, from ``inquiryRefund`` in the reconciler.
  F is a refusal (nothing was refunded): FAILED, with Antom's code and message.
  U, a timeout, a network error or an HTTP error means "unknown": the same body (same
  ``refundRequestId``, Antom's idempotency key) is sent again a bounded number of times,
  then ProviderError, and the reconciler asks later.
- ``inquiryRefund``: ``refundStatus`` is one of the SDK's ``TransactionStatusType``
  (global-open-sdk-python, com/alipay/ams/api/model/transaction_status_type.py):
  SUCCESS -> SUCCEEDED; FAIL and CANCELLED -> FAILED, with what the answer carries
  (the status, ``result``, ``refundId``, and ``acquirerInfo``'s result code, message
  and reason when present; the inquiry response has no ``refundResultCode``);
  PROCESSING and PENDING -> PENDING (asked again later). Any other status is treated
  as PENDING and logged once per status, never raised forever.
- "No record" of our refund means the submission never reached Antom, and it is
  submitted again (same body, same ``refundRequestId``: Antom deduplicates on it, so
  it can never refund twice). Antom's docs (docs.antom.com/ac/ams/ir) say the refund
  fields "are null when the refund record cannot be found" under ``resultStatus`` S, so
  an S answer without ``refundStatus`` is no record; so is an F whose code says the
  refund or order does not exist (``NOT_FOUND_CODES``). The inquiry page lists no such
  code: ORDER_NOT_EXIST is in Antom's refund result codes, REFUND_NOT_EXIST is what
  Alipay+ wallets' inquiryRefund answers, ORIGINAL_PAYMENT_NOT_EXIST is defensive. A
  wrong guess is harmless: if the payment really is unknown, the re-submitted refund
  is refused (F) and the refund fails with Antom's reason.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from zenmux_refunds.config import settings
from zenmux_refunds.providers.base import (
    Outcome,
    ProviderError,
    ProviderResult,
    RefundRequest,
    Verdict,
)

log = logging.getLogger(__name__)

REFUND_PATH = "/ams/api/v1/payments/refund"
INQUIRY_PATH = "/ams/api/v1/payments/inquiryRefund"
NOTIFY_PATH = "/api/antom/notify"  # where Antom posts notifyRefund (see api.py)
KEY_VERSION = "1"
RETRIES = 2  # after the first attempt, for U / timeout / network / HTTP errors
# F answers of inquiryRefund that mean "no record of this refund" (see the docstring).
NOT_FOUND_CODES = frozenset({"REFUND_NOT_EXIST", "ORDER_NOT_EXIST",
                             "ORIGINAL_PAYMENT_NOT_EXIST"})
_PENDING_STATUSES = frozenset({"PROCESSING", "PENDING"})
_FAILED_STATUSES = frozenset({"FAIL", "CANCELLED"})
_unknown_statuses_logged: set[str] = set()  # unknown refundStatus values, logged once
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
ACKNOWLEDGEMENT = {"result": {"resultCode": "SUCCESS", "resultStatus": "S",
                              "resultMessage": "success"}}


class SignatureError(ValueError):
    """A signature header is missing, malformed, or does not verify."""


# ------------------------------------------------------------------------ keys


def _pem_or_base64(text: str, kind: str) -> bytes:
    """Antom's dashboard hands out bare base64 keys; accept those as well as PEM."""
    text = (text or "").strip()
    if not text:
        raise ValueError(f"no {kind} key")
    if "-----BEGIN" in text:
        return text.encode("ascii")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        raise ValueError(f"the {kind} key is neither PEM nor base64") from None


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    data = _pem_or_base64(text, "private")
    key = (serialization.load_pem_private_key(data, password=None)
           if data.startswith(b"-----") else
           serialization.load_der_private_key(data, password=None))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    data = _pem_or_base64(text, "public")
    key = (serialization.load_pem_public_key(data) if data.startswith(b"-----")
           else serialization.load_der_public_key(data))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the public key is not an RSA key")
    return key


# ------------------------------------------------------------------------ signatures


def signed_content(path: str, client_id: str, time_text: str, body: bytes) -> bytes:
    """What is signed: ``POST <path>\\n<client-id>.<time>.<body>`` (UTF-8)."""
    return f"POST {path}\n{client_id}.{time_text}.".encode("utf-8") + body


def sign(private_key: rsa.RSAPrivateKey, path: str, client_id: str, time_text: str,
         body: bytes) -> str:
    """The signature value for the header: base64, then URL-encoded."""
    raw = private_key.sign(signed_content(path, client_id, time_text, body),
                           padding.PKCS1v15(), hashes.SHA256())
    return quote(base64.b64encode(raw).decode("ascii"), safe="")


def signature_header(signature_value: str, key_version: str = KEY_VERSION) -> str:
    return f"algorithm=RSA256,keyVersion={key_version},signature={signature_value}"


_HEADER_PART = re.compile(r"^\s*([A-Za-z]+)\s*=(.*)$", re.S)


def parse_signature_header(header: str | None) -> bytes:
    """The raw signature bytes of ``algorithm=RSA256,keyVersion=N,signature=...``."""
    if not header:
        raise SignatureError("no Signature header")
    fields: dict[str, str] = {}
    for part in header.split(","):
        match = _HEADER_PART.match(part)
        if match is None:
            raise SignatureError("malformed Signature header")
        fields[match.group(1).lower()] = match.group(2).strip()
    if fields.get("algorithm") != "RSA256":
        raise SignatureError(f"unsupported algorithm {fields.get('algorithm')!r}")
    value = fields.get("signature")
    if not value:
        raise SignatureError("the Signature header carries no signature")
    try:
        return base64.b64decode(unquote(value), validate=True)
    except ValueError:
        raise SignatureError("the signature is not base64") from None


def verify(public_key: rsa.RSAPublicKey, path: str, client_id: str, time_text: str,
           body: bytes, header: str | None) -> None:
    """Raise SignatureError unless ``header`` signs this message with ``public_key``."""
    raw = parse_signature_header(header)
    try:
        public_key.verify(raw, signed_content(path, client_id, time_text, body),
                          padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


# ------------------------------------------------------------------------ provider


class AntomProvider:
    name = "antom"
    polled = False  # notifyRefund brings the verdict; inquiryRefund reconciles
    paid_by_hand = False

    def __init__(self, cfg, *, retries: int = RETRIES, backoff_seconds: float = 0.2):
        self.client_id = cfg.antom_client_id
        self.base_url = cfg.antom_base_url.rstrip("/")
        self.timeout = cfg.provider_timeout_seconds
        self.notify_url = f"{cfg.public_url}{NOTIFY_PATH}"
        self.retries = retries
        self.backoff = backoff_seconds
        self._private_pem = cfg.antom_private_key_pem
        self._public_pem = cfg.antom_public_key_pem
        self._keys: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey] | None = None

    # Keys are read on first use, so that a bad key is reported as a provider error
    # in the refund's audit trail rather than crashing the caller.
    def _key_pair(self) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
        if self._keys is None:
            try:
                private = load_private_key(self._private_pem)
            except ValueError as exc:
                raise ProviderError(f"antom: ANTOM_PRIVATE_KEY cannot be used: {exc}") from None
            if not self._public_pem:
                raise ProviderError("antom: ANTOM_PUBLIC_KEY is not set, so Antom's answers "
                                    "cannot be verified")
            try:
                public = load_public_key(self._public_pem)
            except ValueError as exc:
                raise ProviderError(f"antom: ANTOM_PUBLIC_KEY cannot be used: {exc}") from None
            self._keys = (private, public)
        return self._keys

    def _api_path(self, path: str) -> str:
        # Antom's sandbox client ids (SANDBOX_...) are served under /ams/sandbox/api.
        if self.client_id.startswith("SANDBOX_"):
            return path.replace("/ams/api", "/ams/sandbox/api", 1)
        return path

    def _call(self, api_path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed request; return Antom's verified answer (resultStatus S or F).

        U, timeouts, network and HTTP errors are retried with the very same body;
        an answer whose signature does not verify raises ProviderError at once.
        """
        private, public = self._key_pair()
        url = self.base_url + self._api_path(api_path)
        path = urlsplit(url).path
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        attempts = 1 + self.retries
        last = "no attempt"
        with httpx.Client(timeout=httpx.Timeout(self.timeout)) as client:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(self.backoff * attempt)
                request_time = str(time.time_ns() // 1_000_000)
                headers = {
                    "Content-Type": JSON_CONTENT_TYPE,
                    "client-id": self.client_id,
                    "request-time": request_time,
                    "Signature": signature_header(
                        sign(private, path, self.client_id, request_time, body)),
                }
                try:
                    response = client.post(url, content=body, headers=headers)
                except httpx.TimeoutException:
                    last = f"no answer within {self.timeout}s"
                    continue
                except httpx.HTTPError as exc:
                    last = f"network error: {type(exc).__name__}: {exc}"
                    continue
                if response.status_code != 200:
                    last = f"HTTP {response.status_code}"
                    continue
                answer = self._trusted(path, response)
                result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
                status = result.get("resultStatus")
                if status in ("S", "F"):
                    return answer
                last = (f"resultStatus {status} {result.get('resultCode')}: "
                        f"{result.get('resultMessage')}")
        raise ProviderError(f"antom {api_path}: no verdict after {attempts} attempts "
                            f"(last: {last})")

    def _trusted(self, path: str, response: httpx.Response) -> dict[str, Any]:
        headers = _lower(response.headers)
        client_id = headers.get("client-id", "")
        response_time = headers.get("response-time", "")
        if client_id != self.client_id or not response_time:
            raise ProviderError("antom: the answer is not trusted (client-id or "
                                "response-time missing or wrong)")
        try:
            verify(self._key_pair()[1], path, client_id, response_time, response.content,
                   headers.get("signature"))
        except SignatureError as exc:
            raise ProviderError(f"antom: the answer is not trusted ({exc})") from None
        try:
            answer = json.loads(response.content)
        except ValueError:
            raise ProviderError("antom: the signed answer is not JSON") from None
        if not isinstance(answer, dict):
            raise ProviderError("antom: the signed answer is not a JSON object")
        return answer

    def submit(self, request: RefundRequest) -> ProviderResult:
        if not request.provider_payment_id:
            return ProviderResult(Outcome.FAILED, None,
                                  "antom: the order has no Antom paymentId to refund")
        payload = {
            "refundRequestId": request.idempotency_key,
            "paymentId": request.provider_payment_id,
            "refundAmount": {"currency": request.currency,
                             "value": str(int(request.amount_minor))},
            "refundReason": f"ZenMux refund {request.refund_ref} of {request.order_ref}",
            "refundNotifyUrl": self.notify_url,
        }
        answer = self._call(REFUND_PATH, payload)
        result = answer["result"]
        refund_id = answer.get("refundId") or None
        if result["resultStatus"] == "S":
            return ProviderResult(Outcome.PENDING, refund_id,
                                  f"antom: refund accepted ({result.get('resultCode')}); "
                                  "the result follows by notifyRefund or inquiryRefund")
        return ProviderResult(Outcome.FAILED, refund_id,
                              f"antom: refund refused: {result.get('resultCode')}: "
                              f"{result.get('resultMessage')}")

    def inquire(self, request: RefundRequest) -> ProviderResult:
        answer = self._call(INQUIRY_PATH, {"refundRequestId": request.idempotency_key})
        result = answer["result"]
        if result["resultStatus"] == "F":
            if result.get("resultCode") in NOT_FOUND_CODES:
                return self._submit_again(request, f"F {result.get('resultCode')}")
            raise ProviderError(f"antom inquiryRefund refused: {result.get('resultCode')}: "
                                f"{result.get('resultMessage')}")
        status = answer.get("refundStatus")
        if not status:
            return self._submit_again(request, "S with no refundStatus")
        refund_id = answer.get("refundId") or None
        carried = _carried(answer)
        if status == "SUCCESS":
            return ProviderResult(Outcome.SUCCEEDED, refund_id,
                                  f"antom: refund succeeded ({carried})")
        if status in _FAILED_STATUSES:
            word = "cancelled" if status == "CANCELLED" else "failed"
            return ProviderResult(Outcome.FAILED, refund_id, f"antom: refund {word} ({carried})")
        if status not in _PENDING_STATUSES:
            text = str(status)[:64]
            if text not in _unknown_statuses_logged:
                _unknown_statuses_logged.add(text)
                log.warning("Antom inquiryRefund answered an unknown refundStatus %r; "
                            "treated as still pending (logged once)", text)
            return ProviderResult(Outcome.PENDING, refund_id,
                                  f"antom: unknown refund status, treated as pending ({carried})")
        return ProviderResult(Outcome.PENDING, refund_id, f"antom: refund pending ({carried})")

    def _submit_again(self, request: RefundRequest, answer: str) -> ProviderResult:
        """Antom has no record of our refund: send the same request again."""
        again = self.submit(request)
        return ProviderResult(again.outcome, again.provider_refund_id,
                              f"antom inquiryRefund: no record of the refund ({answer}); "
                              f"submitted again with the same refundRequestId: {again.detail}")


def _carried(answer: Mapping[str, Any]) -> str:
    """What an inquiryRefund answer carries, for the audit trail; absent fields are left
    out (never "None")."""
    result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
    parts = [f"refundStatus {answer.get('refundStatus')}"]
    code = ": ".join(str(v) for v in (result.get("resultCode"), result.get("resultMessage"))
                     if v)
    if code:
        parts.append(f"result {code}")
    if answer.get("refundId"):
        parts.append(f"refundId {answer['refundId']}")
    # Not in the inquiry response's documentation, but some Antom refund APIs send them.
    refund_code = ": ".join(str(answer[k]) for k in ("refundResultCode", "refundResultMessage")
                            if answer.get(k))
    if refund_code:
        parts.append(f"refund result {refund_code}")
    acquirer = answer.get("acquirerInfo") if isinstance(answer.get("acquirerInfo"), dict) else {}
    reason = ": ".join(str(acquirer[k]) for k in ("acquirerResultCode", "acquirerResultMessage",
                                                  "acquirerReasonDescription")
                       if acquirer.get(k))
    if reason:
        name = acquirer.get("acquirerName")
        parts.append(f"acquirer{' ' + str(name) if name else ''} {reason}")
    return "; ".join(parts)


# ------------------------------------------------------------------------ notifications


def _answer(status: int, payload: dict) -> tuple[int, dict[str, str], bytes]:
    return (status, {"Content-Type": JSON_CONTENT_TYPE},
            json.dumps(payload, separators=(",", ":")).encode("utf-8"))


def _refusal(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return _answer(status, {"result": {"resultCode": code, "resultStatus": "F",
                                       "resultMessage": message}})


# Antom's notifyRefund documentation states no freshness window for ``request-time``
# (epoch milliseconds, "Message structure" / "notifyRefund" pages of docs.antom.com).
# It says an unacknowledged notification is sent again up to eight times within 24 hours
# (after 0 s, 2 min, 10 min, 10 min, 1 h, 2 h, 6 h, 15 h) and does not say whether a retry
# carries a new request-time. We follow Stripe's default webhook tolerance: 300 s either
# way (ZENMUX_ANTOM_NOTIFY_TOLERANCE_SECONDS), measured on the real wall clock, never the
# demo clock. A retry refused as stale changes nothing: the reconciler's inquiryRefund
# still fetches the verdict. Without the window, a captured notification could be
# replayed forever.
MAX_ID = 64  # Antom: refundRequestId and refundId are at most 64 characters
_MAX_TIME_DIGITS = 15  # epoch milliseconds have 13 digits until the year 2286


def _stale(request_time: str, tolerance_seconds: int) -> str | None:
    """Why ``request-time`` is unacceptable (not epoch ms, or outside the window)."""
    from zenmux_refunds import clock

    text = request_time.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_TIME_DIGITS:
        return "request-time is not epoch milliseconds"
    now_ms = int(clock.real_now().timestamp() * 1000)
    if abs(int(text) - now_ms) > tolerance_seconds * 1000:
        return f"request-time is more than {tolerance_seconds}s from now"
    return None


@dataclass(frozen=True)
class Notification:
    """A ``notifyRefund`` delivery, verified and decoded: the HTTP answer Antom gets
    (status, headers, body) and, for a refund result, the verdict to apply. Applying it
    is the services' job (``services.provider_events``); when that fails, Antom must
    get ``not_applied()`` instead, so that it sends the notification again."""

    status: int
    headers: dict[str, str]
    body: bytes
    verdict: Verdict | None = None


def not_applied() -> tuple[int, dict[str, str], bytes]:
    """The answer to a verified notification we could not apply: Antom retries it."""
    return _refusal(500, "PROCESS_FAIL", "not applied; send it again")


def _notification(answer: tuple[int, dict[str, str], bytes],
                  verdict: Verdict | None = None) -> Notification:
    return Notification(*answer, verdict=verdict)


def decode_notification(headers: Mapping[str, str], raw_body: bytes, *,
                        path: str | None = None) -> Notification:
    """Verify and decode Antom's ``notifyRefund``.

    Unsigned, forged, stale or foreign notifications get 400 and carry no verdict. A
    verified REFUND_RESULT (SUCCESS / FAIL) carries one, keyed by ``refundRequestId``
    (our idempotency key); anything else is acknowledged with nothing to do.
    ``path`` is the path the notification was posted to (default: our notify URL's).
    """
    cfg = settings()
    path = path or urlsplit(f"{cfg.public_url}{NOTIFY_PATH}").path
    if not cfg.antom_client_id or not cfg.antom_public_key_pem:
        return _notification(_refusal(503, "NOT_CONFIGURED", "Antom is not configured here"))
    try:
        public = load_public_key(cfg.antom_public_key_pem)
    except ValueError:
        log.error("ANTOM_PUBLIC_KEY cannot be used: notifications cannot be verified")
        return _notification(_refusal(503, "NOT_CONFIGURED", "Antom is not configured here"))
    h = _lower(headers)
    client_id, request_time = h.get("client-id", ""), h.get("request-time", "")
    body = bytes(raw_body or b"")
    if client_id != cfg.antom_client_id or not request_time:
        return _notification(_refusal(400, "INVALID_SIGNATURE",
                                      "unknown client-id or no request-time"))
    stale = _stale(request_time, cfg.antom_notify_tolerance_seconds)
    if stale:
        log.warning("Antom notification rejected: %s", stale)
        return _notification(_refusal(400, "INVALID_SIGNATURE", stale))
    try:
        verify(public, path, client_id, request_time, body, h.get("signature"))
    except SignatureError as exc:
        log.warning("Antom notification rejected: %s", exc)
        return _notification(_refusal(400, "INVALID_SIGNATURE", str(exc)))
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deeply
        return _notification(_refusal(400, "PARAM_ILLEGAL", "the body is not JSON"))
    if not isinstance(payload, dict):
        return _notification(_refusal(400, "PARAM_ILLEGAL", "the body is not a JSON object"))
    for name in ("refundRequestId", "refundId"):
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_ID):
            return _notification(_refusal(
                400, "PARAM_ILLEGAL",
                f"{name}: expected a string of at most {MAX_ID} characters"))

    outcome = {"SUCCESS": Outcome.SUCCEEDED, "FAIL": Outcome.FAILED}.get(
        payload.get("refundStatus"))
    if payload.get("notifyType") != "REFUND_RESULT" or outcome is None:
        log.info("Antom notification %s/%s acknowledged, nothing to do",
                 payload.get("notifyType"), payload.get("refundStatus"))
        return _notification(_answer(200, ACKNOWLEDGEMENT))
    result = payload.get("result") if isinstance(payload.get("result"), dict) else {}
    amount = payload.get("refundAmount") if isinstance(payload.get("refundAmount"), dict) else {}
    detail = (f"antom notifyRefund {payload.get('refundStatus')}: "
              f"{result.get('resultCode')}: {result.get('resultMessage')} "
              f"(refundId {payload.get('refundId')}, "
              f"{amount.get('currency')} {amount.get('value')} minor units)")
    verdict = Verdict(outcome=outcome, detail=detail,
                      provider_refund_id=payload.get("refundId") or None,
                      idempotency_key=payload.get("refundRequestId"))
    return _notification(_answer(200, ACKNOWLEDGEMENT), verdict)
