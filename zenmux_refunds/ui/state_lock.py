"""A tab's state lock is never left behind by an event cancelled while taking it.

With Redis (several app workers), Reflex 0.10.1 guards each tab's state with a Redis
lock (``SET key id NX PX redis_lock_expiration``, 10 s by default). Reflex cancels an
event that is still waiting to run when its tab's socket goes away: a page's load
chain when the customer navigates on before it ran. If that cancel lands while the
``SET`` is on its way, Redis has taken the lock but the cancelled event never learns
it and never releases it. The tab's next page, on any worker, then waits out the whole
expiry: ten seconds of skeletons for a customer who clicked on quickly.

Seen in the production-shape browser lane (``.ci/run``, two CI failures): the page
reloaded at /credits while /subscription was still loading; its hydration waited
10.0 s ("wait timeout" in Reflex's own lock log), then ran at once.

``install()`` wraps the lock's acquisition: when it is cancelled, whatever it may have
taken under its own lock id is released (compare-and-delete, so never anyone else's)
before the cancel goes on. Releasing deletes the key, which is the notification that
wakes waiters on every worker. Idempotent; the app module calls it at import."""

from __future__ import annotations

import asyncio
import functools
import logging

log = logging.getLogger(__name__)

# KEYS[1]: the lock key; ARGV[1]: the cancelled acquirer's lock id. Deletes the lock
# only if that acquirer holds it.
_RELEASE_IF_HELD_BY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def install() -> None:
    from reflex.istate.manager.redis import StateManagerRedis

    acquire = StateManagerRedis._wait_lock
    if getattr(acquire, "releases_on_cancel", False):
        return

    @functools.wraps(acquire)
    async def _wait_lock(self, lock_key: bytes, lock_id: bytes) -> None:
        try:
            await acquire(self, lock_key, lock_id)
        except asyncio.CancelledError:
            # shielded: a second cancel must not stop the release half-way
            await asyncio.shield(release_if_held_by(self, lock_key, lock_id))
            raise

    _wait_lock.releases_on_cancel = True
    StateManagerRedis._wait_lock = _wait_lock


async def release_if_held_by(manager, lock_key: bytes, lock_id: bytes) -> bool:
    """Release ``lock_key`` if ``lock_id`` holds it; wake this worker's next waiter
    (other workers wake on the key's deletion)."""
    released = await manager.redis.eval(_RELEASE_IF_HELD_BY, 1, lock_key, lock_id)
    if released:
        manager._notify_next_waiter(lock_key)
        log.info("a cancelled event released the tab state lock it had just taken")
    return bool(released)
