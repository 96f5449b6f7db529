"""Rankers around a fake LLM: scoring, aggregation, parsing and every fallback path."""

import asyncio
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.fusion import FusionWeights
from agent.llm import Completion, LLMTimeout, LLMUnavailable
from agent.rankers import HybridRanker, ListwiseRanker, PromptItem, RankingRequest, VerbalizerRanker
from agent.rankers.base import candidate_orders
from agent.rankers.listwise import ListwiseConfig, parse_ranking
from agent.rankers.verbalizer import VerbalizerConfig
from tests.agent.fake_llm import FakeLLM, labels_in, prefers


def request(n: int = 5) -> RankingRequest:
    ids = [f"Film {i} (199{i % 10})" for i in range(n)]
    return RankingRequest(
        source_scene="Comedy", target_scene="Sci-Fi",
        evidence=[PromptItem(item_id="Groundhog Day (1993)", title="Groundhog Day (1993)", rating=5)],
        candidates=[PromptItem(item_id=i, title=i, genres=["Sci-Fi"]) for i in ids],
        generator_scores={"popularity": {i: float(n - k) for k, i in enumerate(ids)}},
        prior={i: float(n - k) for k, i in enumerate(ids)},
    )


def run(coroutine):
    return asyncio.run(coroutine)


def test_verbalizer_ranks_by_label_probability():
    req = request(5)
    liked = {"Film 3 (1993)": 0.6, "Film 1 (1991)": 0.3}
    ranking = run(VerbalizerRanker(FakeLLM(prefers(liked))).rank(req))
    assert ranking.fallback is None
    assert ranking.item_ids[:2] == ["Film 3 (1993)", "Film 1 (1991)"]
    assert sorted(ranking.item_ids) == sorted(req.ids)
    assert ranking.prompt.template == "verbalizer" and len(ranking.prompt.sha256) == 64


def test_permutations_average_orders_and_share_the_prefix():
    req = request(6)
    llm = FakeLLM(prefers({"Film 2 (1992)": 0.9}))
    ranking = run(VerbalizerRanker(llm, VerbalizerConfig(permutations=3, seed=1)).rank(req))
    assert ranking.llm_calls == 3 and ranking.item_ids[0] == "Film 2 (1992)"
    prefix = {p.split("Which of these")[0] for p in llm.prompts}
    assert len(prefix) == 1  # only the candidate block differs between permutations
    assert len(set(llm.prompts)) == 3


def test_balanced_orders_list_every_item_once_in_every_quarter():
    ids = [str(i) for i in range(20)]
    orders = candidate_orders(ids, 4, seed=0)
    assert orders[0] == ids and all(sorted(o) == sorted(ids) for o in orders)
    for item in ids:
        assert sorted(o.index(item) // 5 for o in orders) == [0, 1, 2, 3]
    assert candidate_orders(ids, 1, seed=3) == [ids]
    assert len(candidate_orders(ids[:3], 5, seed=0)) == 3  # at most n distinct rotations


def test_shuffled_orders_are_the_seeded_shuffles_of_the_first_runs():
    ids = [str(i) for i in range(20)]
    orders = candidate_orders(ids, 3, seed=7, design="shuffled")
    assert orders == candidate_orders(ids, 3, seed=7, design="shuffled") and orders[0] == ids
    assert orders[1] != orders[2] and sorted(orders[1]) == sorted(ids)


def position_biased(liked: str, boost: float):
    """A verbalizer fake that mostly follows the label (A >> B >> ...) and slightly the liked title."""
    def answer(prompt: str, kwargs: dict) -> Completion:
        labels = labels_in(prompt)
        logprobs = {f" {label}": -1.5 * n + (math.log(boost) if title == liked else 0.0)
                    for n, (label, title) in enumerate(labels.items())}
        return Completion(text=max(logprobs, key=logprobs.get), top_logprobs=logprobs)
    return answer


def test_balanced_orders_let_taste_beat_a_position_bias():
    req = request(20)
    liked = req.ids[-1]  # listed last in the given order, label T
    one = run(VerbalizerRanker(FakeLLM(position_biased(liked, 3.0))).rank(req))
    assert one.item_ids[0] == req.ids[0]  # one order: label A wins
    rotated = run(VerbalizerRanker(FakeLLM(position_biased(liked, 3.0)),
                                   VerbalizerConfig(permutations=20)).rank(req))
    assert rotated.item_ids[0] == liked  # every item held every label once: taste decides


def test_more_than_twenty_candidates_run_as_a_tournament():
    req = request(45)
    ranking = run(VerbalizerRanker(FakeLLM(prefers({"Film 44 (1994)": 0.9}))).rank(req))
    assert ranking.fallback is None and ranking.llm_calls == 4  # 3 chunks + a final
    assert ranking.item_ids[0] == "Film 44 (1994)"
    assert sorted(ranking.item_ids) == sorted(req.ids)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (lambda p, k: Completion(text=" banana", top_logprobs={}), "LLMBadOutput"),
        (lambda p, k: Completion(text=" A", top_logprobs={}), "LLMBadOutput"),  # no logprobs
        (lambda p, k: LLMTimeout("slow"), "LLMTimeout"),
        (lambda p, k: LLMUnavailable("down"), "LLMUnavailable"),
    ],
)
def test_verbalizer_falls_back_to_candidate_scores(behaviour, reason):
    req = request(5)
    ranking = run(VerbalizerRanker(FakeLLM(behaviour)).rank(req))
    assert ranking.fallback.startswith(reason)
    assert ranking.item_ids == req.ids  # the prior's order
    assert ranking.errors.invalid == (1 if reason == "LLMBadOutput" else 0)


def test_labels_that_split_into_tokens_fall_back():
    ranking = run(VerbalizerRanker(FakeLLM(prefers({}), multi_token_labels=True)).rank(request(4)))
    assert "several tokens" in ranking.fallback


def test_listwise_parse_counts_what_went_wrong():
    ids = ["a", "b", "c", "d"]
    ranked, errors = parse_ranking(json.dumps({"ranking": ["c", "c", "zz", "a"]}), ids)
    assert ranked == ["c", "a"]
    assert (errors.duplicates, errors.out_of_candidates, errors.missing) == (1, 1, 2)


def test_listwise_repairs_omissions_with_the_prior():
    req = request(4)
    order = ["Film 2 (1992)", "Film 0 (1990)"]
    llm = FakeLLM(lambda p, k: Completion(text=json.dumps({"ranking": order})))
    ranking = run(ListwiseRanker(llm).rank(req))
    assert ranking.item_ids == ["Film 2 (1992)", "Film 0 (1990)", "Film 1 (1991)", "Film 3 (1993)"]
    assert ranking.errors.missing == 2


def test_listwise_sends_an_enum_schema():
    req = request(3)
    seen = {}

    def answer(prompt, kwargs):
        seen.update(kwargs)
        return Completion(text=json.dumps({"ranking": req.ids}))

    run(ListwiseRanker(FakeLLM(answer)).rank(req))
    items = seen["json_schema"]["properties"]["ranking"]["items"]
    assert items["enum"] == req.ids


def test_listwise_garbage_falls_back():
    ranking = run(ListwiseRanker(FakeLLM(lambda p, k: Completion(text="{not json"))).rank(request(3)))
    assert ranking.fallback.startswith("LLMBadOutput") and ranking.errors.invalid == 1


def test_one_garbled_order_costs_that_order_not_the_ranking():
    req = request(6)
    liked = ["Film 5 (1995)", "Film 4 (1994)"]
    answers = iter([Completion(text='{"ranking": ["Film 1 (1991)", "Film 1 (19'),  # cut off mid-title
                    *[Completion(text=json.dumps({"ranking": liked}))] * 2])
    ranking = run(ListwiseRanker(FakeLLM(lambda p, k: next(answers)), ListwiseConfig(permutations=3)).rank(req))
    assert ranking.fallback is None and ranking.item_ids[:2] == liked
    assert ranking.errors.invalid == 1 and ranking.llm_calls == 3
    every = run(ListwiseRanker(FakeLLM(lambda p, k: Completion(text="{not json")),
                               ListwiseConfig(permutations=3)).rank(req))
    assert every.fallback.startswith("LLMBadOutput") and every.errors.invalid == 1
    down = run(VerbalizerRanker(FakeLLM(lambda p, k: LLMUnavailable("down")),
                                VerbalizerConfig(permutations=3)).rank(req))
    assert down.fallback.startswith("LLMUnavailable") and down.errors.invalid == 0


def test_hybrid_fuses_and_survives_a_dead_model():
    req = request(5)
    weights = FusionWeights(weights={"popularity": 1.0, "llm": 5.0})
    llm_likes_last = FakeLLM(prefers({"Film 4 (1994)": 0.99}))
    ranking = run(HybridRanker(VerbalizerRanker(llm_likes_last), weights).rank(req))
    assert ranking.item_ids[0] == "Film 4 (1994)" and ranking.ranker == "hybrid(verbalizer)"
    dead = run(HybridRanker(VerbalizerRanker(FakeLLM(lambda p, k: LLMUnavailable("down"))), weights).rank(req))
    assert dead.fallback.startswith("LLMUnavailable") and dead.item_ids == req.ids


def test_hybrid_without_an_llm_weight_never_calls_the_model():
    req = request(5)
    llm = FakeLLM(prefers({"Film 4 (1994)": 0.99}))
    ranking = run(HybridRanker(VerbalizerRanker(llm), FusionWeights(weights={"popularity": 1.0, "llm": 0.0})).rank(req))
    assert llm.calls == [] and ranking.item_ids == req.ids and ranking.ranker == "hybrid" and ranking.fallback is None


def test_hybrid_reranks_only_the_head_of_a_long_list():
    """The full-catalogue protocol: the LLM reads the generators' top 20, the rest keep their order."""
    req = request(45)
    weights = FusionWeights(weights={"popularity": 1.0, "llm": 5.0})
    llm = FakeLLM(prefers({req.ids[19]: 0.99, req.ids[30]: 0.99}))
    ranking = run(HybridRanker(VerbalizerRanker(llm), weights).rank(req))
    assert ranking.item_ids[0] == req.ids[19]  # lifted within the head by the model
    assert set(ranking.item_ids[:20]) == set(req.ids[:20]) and ranking.item_ids[20:] == req.ids[20:]
    assert sorted(ranking.item_ids) == sorted(req.ids) and len(llm.calls) == 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 45), seed=st.integers(0, 5), permutations=st.integers(1, 3),
       favourites=st.dictionaries(st.integers(0, 44), st.floats(0.01, 1.0), max_size=5))
def test_every_ranking_is_a_permutation_of_its_candidates(n, seed, permutations, favourites):
    req = request(n)
    liked = {req.ids[i]: p for i, p in favourites.items() if i < n}
    for ranker in (VerbalizerRanker(FakeLLM(prefers(liked)), VerbalizerConfig(permutations=permutations, seed=seed)),
                   ListwiseRanker(FakeLLM(lambda p, k: Completion(text=json.dumps({"ranking": list(liked)}))),
                                  ListwiseConfig(permutations=permutations, seed=seed))):
        ranking = run(ranker.rank(req))
        assert sorted(ranking.item_ids) == sorted(req.ids)
        assert set(ranking.scores) == set(req.ids)
