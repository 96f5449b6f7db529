"""The work queue: a bounded number at once, a bounded wait, then 503 with Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from scenebridge.server.limits import ServerBusy, WorkQueue


def test_queue_runs_at_most_slots_at_once_and_times_out_waiters():
    async def go():
        queue = WorkQueue(slots=2, max_waiting=10, timeout=0.2)
        peak = 0

        async def work(seconds):
            nonlocal peak
            async with queue.slot():
                peak = max(peak, queue.running)
                await asyncio.sleep(seconds)
                return "done"

        results = await asyncio.gather(work(0.5), work(0.5), work(0.01), return_exceptions=True)
        assert peak == 2 and results[:2] == ["done", "done"]
        assert isinstance(results[2], ServerBusy)
        assert results[2].status == 503 and int(results[2].headers["Retry-After"]) >= 1
        assert queue.stats() == {"running": 0, "waiting": 0, "slots": 2}
        # the slots were given back: the next request runs
        assert await work(0.01) == "done"

    asyncio.run(go())


def test_a_full_queue_refuses_at_once():
    async def go():
        queue = WorkQueue(slots=1, max_waiting=1, timeout=5)
        hold = asyncio.Event()

        async def work():
            async with queue.slot():
                await hold.wait()

        first, second = asyncio.create_task(work()), asyncio.create_task(work())
        await asyncio.sleep(0.05)
        with pytest.raises(ServerBusy):
            async with queue.slot():
                pass
        hold.set()
        await asyncio.gather(first, second)

    asyncio.run(go())
