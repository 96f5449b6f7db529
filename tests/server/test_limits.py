"""The work queue: a bounded number at once, a bounded wait, then 503 with Retry-After.

The requests that hold a slot hold it until the test says so (an event), not for a while: the
verdict does not depend on how fast a busy machine schedules them. Only the queue's own timeout
is a duration, because it is what is under test."""

from __future__ import annotations

import asyncio

import pytest

from scenebridge.server.limits import ServerBusy, WorkQueue
from scenebridge.server.protocol import QueueStats


async def until(condition, timeout: float = 10.0) -> None:
    """Yield to the loop until ``condition()`` holds (a generous deadline, only against a hang)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


def test_queue_runs_at_most_slots_at_once_and_times_out_waiters():
    async def go():
        queue = WorkQueue(slots=2, max_waiting=10, timeout=0.2)
        release = asyncio.Event()
        seen_running: list[int] = []

        async def hold():
            async with queue.slot():
                seen_running.append(queue.running)
                await release.wait()
                return "done"

        holders = [asyncio.create_task(hold()) for _ in range(3)]
        await until(lambda: len(seen_running) == 2 and queue.waiting == 1)
        # Two run, the third waits while both slots stay held: it must give up after the timeout.
        results = await asyncio.gather(holders[2], return_exceptions=True)
        assert seen_running == [1, 2] and queue.running == 2
        busy = results[0]
        assert isinstance(busy, ServerBusy) and "no recommendation slot freed up" in busy.message
        assert busy.status == 503 and int(busy.headers["Retry-After"]) >= 1
        assert queue.stats() == QueueStats(running=2, waiting=0, slots=2)  # the waiter left the queue
        release.set()
        assert await asyncio.gather(*holders[:2]) == ["done", "done"]
        assert queue.stats() == QueueStats(running=0, waiting=0, slots=2)
        # the slots were given back: the next request runs
        assert await hold() == "done"

    asyncio.run(go())


def test_a_full_queue_refuses_at_once():
    async def go():
        queue = WorkQueue(slots=1, max_waiting=1, timeout=5)
        hold = asyncio.Event()

        async def work():
            async with queue.slot():
                await hold.wait()

        first, second = asyncio.create_task(work()), asyncio.create_task(work())
        await until(lambda: queue.running == 1 and queue.waiting == 1)  # one runs, one waits: full
        with pytest.raises(ServerBusy) as refused:
            async with queue.slot():
                pytest.fail("a request got a slot past a full queue")
        # refused for the full queue, not after waiting out the 5 s timeout
        assert "requests waiting" in refused.value.message and queue.waiting == 1
        hold.set()
        await asyncio.gather(first, second)
        assert queue.stats() == QueueStats(running=0, waiting=0, slots=1)

    asyncio.run(go())
