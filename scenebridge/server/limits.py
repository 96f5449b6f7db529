"""What keeps one client from taking the server down: a cap on the request body and on how long
it may take to arrive, a bounded queue in front of the recommendation work (two at a time by
default on a 2-core machine), a cap on what one conversation may ask the parser to look up, and
a deadline on each request's work, which is also cancelled when its client goes away."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from agent.llm.breaker import time_budget
from scenebridge.server.errors import APIError, InvalidContentLength, send_error
from scenebridge.server.protocol import QueueStats

T = TypeVar("T")


class BodyTooLarge(APIError):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes", code="body_too_large")


class BodyTimeout(APIError):
    def __init__(self, timeout: float, received: int, expected: int | None):
        of = f" of the {expected} bytes its Content-Length announced" if expected is not None else ""
        super().__init__(408, f"the request body did not arrive within {timeout:g} s ({received} bytes{of}); "
                         "send the whole body at once, with a Content-Length that matches it",
                         code="body_timeout", headers={"Connection": "close"})


class BodyLimit:
    """ASGI middleware: refuse a body over ``limit`` bytes, by its Content-Length or, when it
    comes in chunks, once the bytes read pass the limit (the body is read first, then replayed);
    and a body that does not arrive within ``timeout`` seconds (shorter than its Content-Length,
    or trickled) with 408."""

    def __init__(self, app, limit: int, timeout: float = 10.0):
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and not length.strip().isdigit():
            return await send_error(send, InvalidContentLength())  # a 400: not a length, not too long
        if length is not None and int(length) > self.limit:
            return await self._refuse(send)
        chunks, size = [], 0
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return await send_error(send, BodyTimeout(self.timeout, size, int(length) if length else None))
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
    ``timeout`` seconds (or less, when its request has less time left); past either bound the
    request gets 503 with Retry-After. A request cancelled while waiting or working (its client
    went away, its deadline passed) leaves the queue and gives its slot back."""

    def __init__(self, slots: int, max_waiting: int, timeout: float):
        self.slots, self.max_waiting, self.timeout = slots, max_waiting, timeout
        self._semaphore = asyncio.Semaphore(slots)
        self.running = 0
        self.waiting = 0

    @asynccontextmanager
    async def slot(self, timeout: float | None = None):
        wait = self.timeout if timeout is None else max(0.0, min(self.timeout, timeout))
        if self.waiting >= self.max_waiting and self._semaphore.locked():
            raise ServerBusy(f"the server is busy ({self.waiting} requests waiting); try again shortly",
                             self.timeout / 4)
        self.waiting += 1
        try:
            async with asyncio.timeout(wait):
                await self._semaphore.acquire()
        except TimeoutError:
            raise ServerBusy(f"no recommendation slot freed up within {wait:.3g} s; try again shortly",
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


class TooMuchToRead(APIError):
    """A conversation that would cost the parser more lookups than one request may: refused before
    any is made."""

    def __init__(self, message: str, code: str):
        super().__init__(400, message, param="messages", code=code)


class ClientGone(APIError):
    def __init__(self):
        super().__init__(499, "the client closed the connection before the answer was ready",
                         code="client_closed_request")


class RequestTimedOut(APIError):
    def __init__(self, seconds: float):
        super().__init__(504, f"the answer took longer than {seconds:g} s and was given up; try again, ask "
                         "for fewer items or explain: false (the server's limit is "
                         "SCENEBRIDGE_REQUEST_TIMEOUT_S)", type="timeout", code="request_timeout")


def model_budget(seconds: float) -> float:
    """The model's share of a request's ``seconds``: what is left at the end is for the fallbacks."""
    return max(seconds / 2, seconds - 2.0)


async def bounded(receive: Callable[[], Awaitable[dict[str, Any]]], work: Coroutine[Any, Any, T], *,
                  seconds: float) -> T:
    """``work`` as a task, with a model budget (agent.llm.breaker.time_budget) inside ``seconds``:
    cancelled when the client goes away (``receive`` gives ``http.disconnect``; call this once the
    body is read) or when ``seconds`` pass, either way freeing its work slot before this returns."""
    with time_budget(model_budget(seconds)):
        task = asyncio.ensure_future(work)  # the task copies the budget with the context
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait({task, gone}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this request is cancelled itself (the server shuts down)
        gone.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()
    await asyncio.wait({task}, timeout=5.0)  # let it unwind: its slot is given back on the way out
    if gone in done:
        raise ClientGone()
    raise RequestTimedOut(seconds)


async def _disconnected(receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:  # noqa: BLE001 - a transport that cannot tell: never cancel for it
        await asyncio.Future()
