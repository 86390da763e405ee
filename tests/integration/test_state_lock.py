"""A tab's Redis state lock is not left behind by an event cancelled while taking it
(zenmux_refunds/ui/state_lock.py), on the real Redis at 127.0.0.1:6379 (database 13).

The cancel has to land after Redis has taken the lock and before its reply is read. To
place it there every time, the acquiring manager's client reads each ``SET`` reply 30 s
late: the command itself runs on Redis at once, as on a busy network."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from zenmux_refunds.ui import state_lock

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    return REDIS_URL


def _manager(url: str):
    from redis.asyncio import Redis
    from reflex.istate.manager.redis import StateManagerRedis

    return StateManagerRedis(redis=Redis.from_url(url), lock_expiration=10_000,
                             lock_warning_threshold=1_000)


def _late_replies(manager) -> asyncio.Event:
    """From now on, ``manager``'s SETs run on Redis but their replies come 30 s late;
    the returned event is set once a SET has run."""
    ran = asyncio.Event()
    real_set = manager.redis.set

    async def set_then_wait(*args, **kwargs):
        reply = await real_set(*args, **kwargs)
        ran.set()
        await asyncio.sleep(30)
        return reply

    manager.redis.set = set_then_wait
    return ran


async def _cancel_while_taking(url: str, lock_key: bytes) -> None:
    """A worker starts taking ``lock_key`` and is cancelled once its SET NX has run on
    Redis (taking the lock if free, finding it taken if not)."""
    worker = _manager(url)
    ran = _late_replies(worker)
    try:
        taking = asyncio.create_task(worker._wait_lock(lock_key, b"cancelled"))
        await asyncio.wait_for(ran.wait(), 5)
        taking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await taking
    finally:
        await worker.close()


@pytest.mark.asyncio
async def test_a_cancelled_acquisition_leaves_no_lock_for_the_next_page(redis_url):
    state_lock.install()
    lock_key = f"{uuid.uuid4()}_lock".encode()
    await _cancel_while_taking(redis_url, lock_key)

    other = _manager(redis_url)  # another worker, the tab's next page
    try:
        assert await other.redis.get(lock_key) is None, (
            "the cancelled acquirer left the lock behind (it would expire in "
            f"{await other.redis.pttl(lock_key)} ms)")
        # the next page takes it at once, not after the 10 s expiry
        await asyncio.wait_for(other._wait_lock(lock_key, b"next-page"), 2)
        assert await other.redis.get(lock_key) == b"next-page"
    finally:
        await other.redis.delete(lock_key)
        await other.close()


@pytest.mark.asyncio
async def test_a_cancelled_waiter_never_releases_the_holders_lock(redis_url):
    state_lock.install()
    lock_key = f"{uuid.uuid4()}_lock".encode()
    holder = _manager(redis_url)
    try:
        await holder._wait_lock(lock_key, b"holder")
        await _cancel_while_taking(redis_url, lock_key)
        assert await holder.redis.get(lock_key) == b"holder"
    finally:
        await holder.redis.delete(lock_key)
        await holder.close()


def test_installing_twice_wraps_once():
    from reflex.istate.manager.redis import StateManagerRedis

    state_lock.install()
    wrapped = StateManagerRedis._wait_lock
    state_lock.install()
    assert StateManagerRedis._wait_lock is wrapped
    assert wrapped.releases_on_cancel
