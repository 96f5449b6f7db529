"""What keeps one client from taking the server down: a cap on the request body, and a bounded
queue in front of the recommendation work (two at a time by default on a 2-core machine)."""

from __future__ import annotations

import asyncio
import math
from contextlib import asynccontextmanager

from scenebridge.server.errors import APIError, InvalidContentLength, send_error
from scenebridge.server.protocol import QueueStats


class BodyTooLarge(APIError):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes", code="body_too_large")


class BodyLimit:
    """ASGI middleware: refuse a body over ``limit`` bytes, by its Content-Length or, when it
    comes in chunks, once the bytes read pass the limit (the body is read first, then replayed)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and not length.strip().isdigit():
            return await send_error(send, InvalidContentLength())  # a 400: not a length, not too long
        if length is not None and int(length) > self.limit:
            return await self._refuse(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send):
        await send_error(send, BodyTooLarge(self.limit))


class ServerBusy(APIError):
    def __init__(self, message: str, retry_after: float):
        super().__init__(503, message, type="service_unavailable", code="server_busy",
                         headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class WorkQueue:
    """At most ``slots`` recommendations at once; up to ``max_waiting`` more wait, each at most
    ``timeout`` seconds; past either bound the request gets 503 with Retry-After."""

    def __init__(self, slots: int, max_waiting: int, timeout: float):
        self.slots, self.max_waiting, self.timeout = slots, max_waiting, timeout
        self._semaphore = asyncio.Semaphore(slots)
        self.running = 0
        self.waiting = 0

    @asynccontextmanager
    async def slot(self):
        if self.waiting >= self.max_waiting and self._semaphore.locked():
            raise ServerBusy(f"the server is busy ({self.waiting} requests waiting); try again shortly",
                             self.timeout / 4)
        self.waiting += 1
        try:
            async with asyncio.timeout(self.timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise ServerBusy(f"no recommendation slot freed up within {self.timeout:.0f} s; try again shortly",
                             self.timeout / 4) from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._semaphore.release()

    def stats(self) -> QueueStats:
        return QueueStats(running=self.running, waiting=self.waiting, slots=self.slots)
