"""Reading a request body with a limit, counted while it streams: a too-large or
malformed Content-Length is refused before anything is read, a chunked body as soon as
it passes the limit, so at most ``limit`` bytes are ever held (the usage feed, the
webhooks and the sign-in forms all read through here)."""

from __future__ import annotations

from starlette.requests import Request


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The raw body, or None when it is over ``limit`` (or its length is not a number)."""
    declared = request.headers.get("content-length", "").strip()
    if declared and (not declared.isdigit() or len(declared) > 12 or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
