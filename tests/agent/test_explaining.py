"""``Explaining`` (agent/recommender.py): a ranked answer whose explanations run concurrently and
are read in rank order; no store, the explanations are plain tasks finishing in an order the test
chooses."""

from __future__ import annotations

import asyncio

import pytest

from agent.explain import Explanation
from agent.recommender import Explaining
from agent.requests import Recommendation, RecommendedItem

IDS = ["A (1990)", "B (1991)", "C (1992)"]


def head() -> Recommendation:
    return Recommendation(user="u1", target_scene="Sci-Fi", source_scene="Comedy", ranker="backbone",
                          items=[RecommendedItem(item_id=i, title=i, rank=n, score=1.0 / n)
                                 for n, i in enumerate(IDS, start=1)],
                          timings={"retrieval": 0.1, "ranking": 0.2}, candidates=20)


def explanation(item_id: str, dropped: int = 0) -> Explanation:
    return Explanation(text=f"because of {item_id}", evidence=["E (1980)"], source="llm", dropped_citations=dropped)


def explaining(gates: dict[str, asyncio.Event], written: list[str]) -> Explaining:
    async def explain(item_id: str) -> Explanation:
        await gates[item_id].wait()
        written.append(item_id)
        return explanation(item_id, dropped=1)

    tasks = {i: asyncio.ensure_future(explain(i)) for i in IDS}
    return Explaining(head(), tasks, llm=None, started=0.0, clock=0.0)


def test_items_come_in_rank_order_however_the_explanations_finish():
    async def go():
        gates = {i: asyncio.Event() for i in IDS}
        written: list[str] = []
        answer = explaining(gates, written)
        got: list[str] = []

        async def read():
            async for rec in answer.explained():
                got.append(rec.item_id)
                assert rec.explanation == f"because of {rec.item_id}" and rec.explanation_source == "llm"

        reader = asyncio.ensure_future(read())
        for i in reversed(IDS):  # the last item's explanation is written first
            gates[i].set()
            await asyncio.sleep(0.01)
            if i != IDS[0]:
                assert got == []  # nothing before the first item is explained
        await asyncio.wait_for(reader, 5)
        assert written == list(reversed(IDS)) and got == IDS
        result = await answer.result()
        assert [r.explanation for r in result.items] == [f"because of {i}" for i in IDS]
        assert result.dropped_citations == 3
        assert {"retrieval", "ranking", "explanation", "total"} <= set(result.timings)
        assert answer.head.items[0].explanation is None  # the head stays as ranked

    asyncio.run(go())


def test_all_explanations_start_at_once():
    async def go():
        started: list[str] = []
        release = asyncio.Event()

        async def explain(item_id: str) -> Explanation:
            started.append(item_id)
            await release.wait()
            return explanation(item_id)

        answer = Explaining(head(), {i: asyncio.ensure_future(explain(i)) for i in IDS}, llm=None,
                            started=0.0, clock=0.0)
        await asyncio.sleep(0.01)
        assert started == IDS  # all under way before anyone reads
        release.set()
        assert len((await answer.result()).items) == 3

    asyncio.run(go())


def test_cancel_gives_up_what_is_left_and_settled_returns():
    async def go():
        gates = {i: asyncio.Event() for i in IDS}
        written: list[str] = []
        answer = explaining(gates, written)
        gates[IDS[0]].set()
        reader = answer.explained()
        assert (await anext(reader)).item_id == IDS[0]
        answer.cancel()
        await asyncio.wait_for(answer.settled(), 1)
        assert written == [IDS[0]]
        with pytest.raises(asyncio.CancelledError):
            await answer.result()

    asyncio.run(go())


def test_a_failing_explanation_gives_up_the_others():
    async def go():
        release = asyncio.Event()

        async def broken() -> Explanation:
            raise RuntimeError("a bug")

        async def slow() -> Explanation:
            await release.wait()
            return explanation("x")

        tasks = {IDS[0]: asyncio.ensure_future(broken()), IDS[1]: asyncio.ensure_future(slow()),
                 IDS[2]: asyncio.ensure_future(slow())}
        answer = Explaining(head(), tasks, llm=None, started=0.0, clock=0.0)
        with pytest.raises(RuntimeError, match="a bug"):
            await answer.result()
        await asyncio.wait_for(answer.settled(), 1)
        assert tasks[IDS[1]].cancelled() and tasks[IDS[2]].cancelled()

    asyncio.run(go())


def test_without_explanations_the_head_is_the_result():
    async def go():
        answer = Explaining(head(), {}, llm=None, started=0.0, clock=0.0)
        assert [r.item_id async for r in answer.explained()] == IDS
        await answer.settled()
        result = await answer.result()
        assert all(r.explanation is None and r.evidence == [] for r in result.items)

    asyncio.run(go())
