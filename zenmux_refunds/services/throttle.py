"""Sign-in throttling, per account and per client address (the `limits` library).

- ``ZENMUX_SIGNIN_MAX_FAILURES`` wrong passwords for one e-mail within
  ``ZENMUX_SIGNIN_WINDOW_MINUTES`` lock that e-mail for ``ZENMUX_SIGNIN_LOCKOUT_MINUTES``:
  every attempt is refused then, the right password included.
- ``ZENMUX_SIGNIN_MAX_FAILURES_PER_ADDRESS`` failures from one client address within the
  window refuse that address's attempts until the window has room again (a guesser
  spraying many e-mails).

Counts live in Redis when ``REFLEX_REDIS_URL`` is set, so every worker shares them;
otherwise in this process's memory. Unknown e-mails are counted like known ones, so the
lock says nothing about whether an account exists. Keys are SHA-256 of the e-mail.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from zenmux_refunds import metrics
from zenmux_refunds.config import settings

_NAMESPACE = "zenmux-signin"


@dataclass(frozen=True)
class Refusal:
    """Attempts are refused for ``minutes`` more (rounded up, at least 1)."""

    minutes: int


class SignInThrottle:
    def __init__(self, storage_uri: str, *, max_failures: int, window_minutes: int,
                 lockout_minutes: int, max_failures_per_address: int):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._failures = RateLimitItemPerMinute(max_failures, window_minutes, _NAMESPACE)
        self._lockout = RateLimitItemPerMinute(1, lockout_minutes, _NAMESPACE)
        self._per_address = RateLimitItemPerMinute(max_failures_per_address, window_minutes,
                                                   _NAMESPACE)

    @staticmethod
    def _account_key(email: str) -> str:
        return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()

    def _minutes_left(self, item, *keys: str) -> int:
        reset_at = self._limiter.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil((reset_at - time.time()) / 60))

    def refusal(self, email: str, address: str) -> Refusal | None:
        """Why an attempt must be refused before its password is even checked."""
        account = self._account_key(email)
        if not self._limiter.test(self._lockout, "locked", account):
            return Refusal(self._minutes_left(self._lockout, "locked", account))
        if address and not self._limiter.test(self._per_address, "address", address):
            return Refusal(self._minutes_left(self._per_address, "address", address))
        return None

    def failed(self, email: str, address: str) -> Refusal | None:
        """Count a wrong password; the refusal if this failure locked the account."""
        account = self._account_key(email)
        if address:
            self._limiter.hit(self._per_address, "address", address)
        self._limiter.hit(self._failures, "failures", account)
        if not self._limiter.test(self._failures, "failures", account):
            self._limiter.clear(self._failures, "failures", account)
            self._limiter.hit(self._lockout, "locked", account)
            metrics.signin_failed(locked=True)
            return Refusal(self._minutes_left(self._lockout, "locked", account))
        metrics.signin_failed(locked=False)
        return None

    def succeeded(self, email: str) -> None:
        """A right password (not locked) clears the account's failures."""
        self._limiter.clear(self._failures, "failures", self._account_key(email))


_lock = threading.Lock()
_instance: SignInThrottle | None = None


def storage_uri() -> str:
    url = settings().redis_url
    return url if url.startswith(("redis://", "rediss://")) else "memory://"


def throttle() -> SignInThrottle:
    """The process's throttle, built from the settings on first use."""
    global _instance
    with _lock:
        if _instance is None:
            cfg = settings()
            _instance = SignInThrottle(
                storage_uri(), max_failures=cfg.signin_max_failures,
                window_minutes=cfg.signin_window_minutes,
                lockout_minutes=cfg.signin_lockout_minutes,
                max_failures_per_address=cfg.signin_max_failures_per_address)
        return _instance


def reset_for_tests() -> None:
    global _instance
    with _lock:
        _instance = None
