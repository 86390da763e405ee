"""The sign-in throttle: per account and per client address, shared through Redis by
several workers (tests/security/test_sign_in_throttle.py attacks the real server)."""

from __future__ import annotations

import uuid

import pytest
import redis

from zenmux_refunds import config
from zenmux_refunds.services import auth, throttle
from zenmux_refunds.services.throttle import SignInThrottle

ALICE = ("alice@example.com", "alice-demo-pass")
REDIS_URL = "redis://127.0.0.1:6379"


def test_ten_failures_lock_the_account_the_right_password_included(example_db):
    for _ in range(9):
        with pytest.raises(auth.SignInError, match="Wrong e-mail or password"):
            auth.sign_in(ALICE[0], "guess", address="10.0.0.1")
    assert auth.account_for_token(auth.sign_in(*ALICE, address="10.0.0.1")).ref == "alice"
    # a success clears the count: ten more failures are needed to lock
    for _ in range(9):
        with pytest.raises(auth.SignInError, match="Wrong"):
            auth.sign_in(ALICE[0], "guess", address="10.0.0.2")
    with pytest.raises(auth.SignInLocked, match="Too many sign-in attempts — try again in 15 "
                                                "minutes"):
        auth.sign_in(ALICE[0], "guess", address="10.0.0.3")
    with pytest.raises(auth.SignInLocked) as locked:
        auth.sign_in(*ALICE, address="10.0.0.4")  # from anywhere, with the right password
    assert locked.value.minutes == 15
    # another account is not affected
    assert auth.account_for_token(auth.sign_in("paul@example.com", "paul-demo-pass")).ref == "paul"


def test_unknown_emails_lock_like_known_ones(example_db):
    for _ in range(9):
        with pytest.raises(auth.SignInError, match="Wrong"):
            auth.sign_in("nobody@example.com", "guess")
    with pytest.raises(auth.SignInLocked):
        auth.sign_in("nobody@example.com", "guess")


def test_one_address_spraying_many_emails_is_refused(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_SIGNIN_MAX_FAILURES_PER_ADDRESS", "5")
    config.settings.cache_clear()
    throttle.reset_for_tests()
    for i in range(5):
        with pytest.raises(auth.SignInError, match="Wrong"):
            auth.sign_in(f"user{i}@example.com", "guess", address="203.0.113.9")
    with pytest.raises(auth.SignInLocked):
        auth.sign_in(*ALICE, address="203.0.113.9")
    assert auth.account_for_token(auth.sign_in(*ALICE, address="198.51.100.1")).ref == "alice"
    config.settings.cache_clear()


def test_the_numbers_are_configuration(example_db, monkeypatch):
    monkeypatch.setenv("ZENMUX_SIGNIN_MAX_FAILURES", "3")
    monkeypatch.setenv("ZENMUX_SIGNIN_LOCKOUT_MINUTES", "2")
    config.settings.cache_clear()
    throttle.reset_for_tests()
    for _ in range(2):
        with pytest.raises(auth.SignInError, match="Wrong"):
            auth.sign_in(ALICE[0], "guess")
    with pytest.raises(auth.SignInLocked, match="try again in 2 minutes"):
        auth.sign_in(ALICE[0], "guess")
    config.settings.cache_clear()


def test_workers_share_the_counts_through_redis():
    """Two throttles on one Redis (two workers) see each other's failures; on memory
    storage (the control) they would not."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    email = f"{uuid.uuid4().hex}@example.com"

    def worker(uri):
        return SignInThrottle(uri, max_failures=4, window_minutes=15, lockout_minutes=15,
                              max_failures_per_address=100)

    one, two = worker(REDIS_URL), worker(REDIS_URL)
    for w in (one, two, one):
        assert w.failed(email, "") is None
    assert two.failed(email, "") is not None  # the 4th failure, counted across workers
    assert one.refusal(email, "") is not None
    mem_one, mem_two = worker("memory://"), worker("memory://")
    for w in (mem_one, mem_two, mem_one, mem_two):
        assert w.failed(email, "") is None
    assert mem_one.refusal(email, "") is None


def test_redis_storage_is_used_when_reflex_redis_url_is_set(monkeypatch):
    monkeypatch.setenv("REFLEX_REDIS_URL", REDIS_URL)
    config.settings.cache_clear()
    assert throttle.storage_uri() == REDIS_URL
    monkeypatch.delenv("REFLEX_REDIS_URL")
    config.settings.cache_clear()
    assert throttle.storage_uri() == "memory://"
