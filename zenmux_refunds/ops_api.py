"""The operator's endpoints beside the app (same port): ``/metrics`` and ``/_ready``.

- ``GET /metrics``: Prometheus' text format (``metrics.render``), only with
  ``Authorization: Bearer $ZENMUX_METRICS_TOKEN`` (compared in constant time). No token
  configured: 404, as if there were no such page; a missing or wrong one: 401.
- ``GET /_ready``: whether this process can serve — the database, Redis (when
  ``REFLEX_REDIS_URL`` is set) and the usage broker (when ``ZENMUX_NATS_URL`` is set),
  each reported on its own (``ok``, ``not configured``, or ``error: <kind>``; never a
  URL or a password). 200 when every configured one answers, else 503. Reflex's own
  ``/_health`` stays what it is (cheap, for the load balancer's liveness check).
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from urllib.parse import urlsplit

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zenmux_refunds import db, metrics
from zenmux_refunds.config import settings

METRICS_PATH = "/metrics"
READY_PATH = "/_ready"
CHECK_TIMEOUT_S = 3.0


def _metrics_token_ok(request: Request) -> bool:
    token = settings().metrics_token
    given = request.headers.get("authorization", "")
    if not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given[len("Bearer "):].encode(), token.encode())


async def metrics_page(request: Request) -> Response:
    if not settings().metrics_token:
        return JSONResponse({"error": "not found"}, status_code=404)
    if not _metrics_token_ok(request):
        return JSONResponse({"error": "unauthorized"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = await asyncio.to_thread(metrics.render)
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def check_database() -> None:
    with db.reading() as s:
        s.exec(sa.text("SELECT 1")).one()


def check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT_S,
                                  socket_connect_timeout=CHECK_TIMEOUT_S)
    try:
        if not client.ping():
            raise ConnectionError("no PONG")
    finally:
        client.close()


def check_nats(url: str) -> None:
    """A NATS server greets every connection with an ``INFO {...}`` line."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 4222),
                                  timeout=CHECK_TIMEOUT_S) as conn:
        conn.settimeout(CHECK_TIMEOUT_S)
        if not conn.recv(5).startswith(b"INFO"):
            raise ConnectionError("not a NATS server")


async def _check(fn, *args) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(fn, *args), CHECK_TIMEOUT_S + 1)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the kind of failure, never its details
        return f"error: {type(exc).__name__}"


async def ready(_request: Request) -> Response:
    cfg = settings()

    async def not_configured() -> str:
        return "not configured"

    database, redis_state, broker = await asyncio.gather(
        _check(check_database),
        _check(check_redis, cfg.redis_url) if cfg.redis_url else not_configured(),
        _check(check_nats, cfg.nats_url) if cfg.nats_configured else not_configured())
    answer = {"database": database, "redis": redis_state, "broker": broker}
    ok = all(v in ("ok", "not configured") for v in answer.values())
    return JSONResponse({"ready": ok, **answer}, status_code=200 if ok else 503,
                        headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route(METRICS_PATH, metrics_page, methods=["GET"]),
            Route(READY_PATH, ready, methods=["GET"])]
