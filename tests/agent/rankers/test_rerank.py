"""The rerank ranker around a fake LLM: it re-orders the backbone's head, states the evidence,
keeps the tail in the backbone's order and reports where each candidate started."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.llm import LLMUnavailable
from agent.rankers import PromptItem, RankingRequest, RerankRanker, make_ranker
from agent.rankers.base import Support
from agent.rankers.rerank import RerankConfig
from core.errors import ScenebridgeError
from tests.agent.fake_llm import FakeLLM, labels_in, prefers


def request(n: int = 30, head: int = 20, *, shuffled: bool = True) -> RankingRequest:
    """``n`` candidates whose backbone order is Film 0, Film 1, …; listed in another order."""
    ids = [f"Film {i}" for i in range(n)]
    listed = ids[::-1] if shuffled else ids
    backbone = {i: float(n - k) for k, i in enumerate(ids)}
    return RankingRequest(
        source_scene="Comedy", target_scene="Sci-Fi",
        evidence=[PromptItem(item_id="gd", title="Groundhog Day (1993)", rating=5)],
        candidates=[PromptItem(item_id=i, title=i, genres=["Sci-Fi"],
                               support=Support(rank=ids.index(i) + 1, neighbours=100, neighbours_with=50 - ids.index(i),
                                               because=["Groundhog Day"]) if ids.index(i) < head else None)
                    for i in listed],
        generator_scores={"backbone": backbone}, prior=backbone,
    )


def run(coroutine):
    return asyncio.run(coroutine)


def test_rerank_reads_the_head_in_backbone_order_and_keeps_the_tail():
    req = request(30)
    llm = FakeLLM(prefers({"Film 7": 0.8, "Film 25": 0.99}))
    ranking = run(RerankRanker(llm).rank(req))
    assert ranking.fallback is None and ranking.ranker == "rerank" and len(llm.prompts) == 1
    shown = labels_in(llm.prompts[0])
    assert list(shown.values()) == [f"Film {i}" for i in range(20)]  # the backbone's order, A first
    assert "A. Film 0 | rank 1 | 50 similar | from Groundhog Day" in llm.prompts[0]
    assert ranking.item_ids[0] == "Film 7"  # lifted by the model within the head
    assert set(ranking.item_ids[:20]) == {f"Film {i}" for i in range(20)}  # Film 25 is not in the head
    assert ranking.item_ids[20:] == [f"Film {i}" for i in range(20, 30)]
    assert ranking.positions == {f"Film {i}": i + 1 for i in range(20)}
    assert ranking.prompt.template == "rerank"


def test_balanced_orders_rotate_the_backbone_order():
    req = request(20)
    llm = FakeLLM(prefers({"Film 3": 0.9}))
    ranking = run(RerankRanker(llm, RerankConfig(permutations=4)).rank(req))
    firsts = [list(labels_in(p).values())[0] for p in llm.prompts]
    assert firsts == ["Film 0", "Film 5", "Film 10", "Film 15"] and ranking.item_ids[0] == "Film 3"


def test_a_dead_model_falls_back_to_the_backbone_order():
    req = request(25)
    ranking = run(RerankRanker(FakeLLM(lambda p, k: LLMUnavailable("down"))).rank(req))
    assert ranking.fallback and ranking.item_ids == [f"Film {i}" for i in range(25)]


def test_without_support_it_says_how_to_build_the_request():
    req = request(5, head=0)
    with pytest.raises(ScenebridgeError, match="collaborative evidence") as info:
        run(make_ranker("rerank", FakeLLM(prefers({}))).rank(req))
    assert info.value.param == "ranker"


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), permutations=st.integers(1, 4),
       favourites=st.dictionaries(st.integers(0, 39), st.floats(0.01, 1.0), max_size=5))
def test_every_rerank_is_a_permutation_of_its_candidates(n, permutations, favourites):
    req = request(n, head=min(n, 20))
    liked = {f"Film {i}": p for i, p in favourites.items() if i < n}
    ranking = run(RerankRanker(FakeLLM(prefers(liked)), RerankConfig(permutations=permutations)).rank(req))
    assert sorted(ranking.item_ids) == sorted(req.ids) and set(ranking.scores) == set(req.ids)


def test_the_prior_weight_blends_the_backbone_back_in():
    req = request(20)
    # The model prefers Film 19 a little over Film 0; the backbone put them first and last.
    liked = {"Film 19": 0.30, "Film 0": 0.25}
    alone = run(RerankRanker(FakeLLM(prefers(liked))).rank(req))
    blended = run(RerankRanker(FakeLLM(prefers(liked)), RerankConfig(prior_weight=1.0)).rank(req))
    assert alone.item_ids[0] == "Film 19" and blended.item_ids[0] == "Film 0"
    assert sorted(blended.item_ids) == sorted(req.ids)
