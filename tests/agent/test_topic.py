"""The topic's score per target item, its place among the candidates, and its fusion with a
ranking: over the ML-100k SceneData (stand-in vectors), with an embedder that returns a chosen
item's vector, so which item the topic is "about" is known."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from agent.candidates import UserEvidence, generate_candidates
from agent.candidates.evidence import resolve
from agent.rankers import PromptItem, RankingRequest
from agent.rankers.base import Ranking
from agent.topic import MAX_TOPIC_CHARS, TOPIC, Topic, with_topic

SOURCE, TARGET = "Comedy", "Sci-Fi"
ABOUT = "Contact (1997)"  # the item the fake embedder says the topic is about


def about(scene_data, item_id: str, *, center: bool):
    """An embedder whose every text means ``item_id`` (its vector, centred as the topic's items are)."""
    target = scene_data.scene(TARGET)
    vectors = target.vectors.astype(np.float64)
    if center:
        vectors = vectors - vectors.mean(axis=0)
    vector = vectors[target.item_index[item_id]]

    def embed(texts: list[str]) -> np.ndarray:
        return np.tile(vector / np.linalg.norm(vector), (len(texts), 1))

    return embed


@pytest.fixture
def liked() -> UserEvidence:
    return UserEvidence(source_scene=SOURCE, target_scene=TARGET,
                        source_items=("Groundhog Day (1993)", "Annie Hall (1977)"))


@pytest.mark.parametrize("center", [True, False])
def test_the_item_a_topic_is_about_scores_highest(scene_data, liked, center):
    topic = Topic(text="first contact with aliens", center=center, embed=about(scene_data, ABOUT, center=center))
    scores = topic.score(scene_data, resolve(scene_data, liked))
    target = scene_data.scene(TARGET)
    assert scores.shape == (target.n_items,) and np.all(np.abs(scores) <= 1 + 1e-9)
    assert target.items[int(np.argmax(scores))] == ABOUT and scores.max() == pytest.approx(1.0)


def test_a_topic_is_a_short_text():
    with pytest.raises(ValidationError):
        Topic(text="")
    with pytest.raises(ValidationError):
        Topic(text="x" * (MAX_TOPIC_CHARS + 1))
    assert Topic(text="time travel").spec() == {"name": TOPIC, "config": {"text": "time travel", "center": True}}


def test_its_items_join_the_candidates_and_its_weight_moves_them_up(scene_data, liked):
    topic = Topic(text="first contact with aliens", embed=about(scene_data, ABOUT, center=True))
    plain = generate_candidates(scene_data, liked, generators=["popularity"], limit=200)
    pooled = generate_candidates(scene_data, liked, generators=["popularity", topic], limit=200,
                                 weights={"popularity": 1.0, TOPIC: 0.0})
    fused = generate_candidates(scene_data, liked, generators=["popularity", topic], limit=200,
                                weights={"popularity": 1.0, TOPIC: 1.0})
    assert pooled.generators == ["popularity", TOPIC] and all(TOPIC in c.scores for c in pooled.items)
    assert set(plain.item_ids) <= set(pooled.item_ids) and ABOUT in pooled.item_ids
    assert fused.item_ids.index(ABOUT) < pooled.item_ids.index(ABOUT)


def request_and_ranking(ranker: str, scores: dict[str, float], topic: dict[str, float]) -> tuple[RankingRequest,
                                                                                               Ranking]:
    ids = list(scores)
    request = RankingRequest(source_scene=SOURCE, target_scene=TARGET,
                             candidates=[PromptItem(item_id=i, title=i) for i in ids],
                             generator_scores={"backbone": scores, TOPIC: topic})
    return request, Ranking(ranker=ranker, item_ids=sorted(ids, key=lambda i: -scores[i]), scores=scores)


def test_the_fusion_lets_the_topic_reorder_what_the_backbone_ranks_close():
    backbone = {"a": 3.0, "b": 2.9, "c": 1.0, "d": 0.0}
    topic = {"a": -1.0, "b": 1.0, "c": 2.0, "d": 0.0}
    request, ranking = request_and_ranking("backbone", backbone, topic)
    assert with_topic(ranking, request, 0.0) == ranking
    modest = with_topic(ranking, request, 0.5)
    assert modest.item_ids == ["b", "a", "c", "d"]  # a near tie moves; a 2-point lead does not
    assert modest.scores["b"] == pytest.approx(2.9 + 0.5)
    assert sorted(with_topic(ranking, request, 5.0).item_ids) == sorted(backbone)  # still a permutation


def test_another_rankers_scale_is_standardised_first():
    """Log-probabilities spread far wider than z-scores: taken as they are, they would drown the
    topic; z-scored over the candidates they weigh as a score ranker's do."""
    logprobs = {"a": -0.1, "b": -0.2, "c": -30.0, "d": -60.0}
    topic = {"a": -1.0, "b": 1.5, "c": 0.0, "d": 0.0}
    request, ranking = request_and_ranking("rerank", logprobs, topic)
    assert with_topic(ranking, request, 0.5).item_ids == ["b", "a", "c", "d"]


def test_without_a_topic_score_nothing_changes():
    request, ranking = request_and_ranking("backbone", {"a": 1.0, "b": 0.0}, {})
    request = request.model_copy(update={"generator_scores": {"backbone": {"a": 1.0, "b": 0.0}}})
    assert with_topic(ranking, request) == ranking


def test_the_recommender_leans_towards_the_topic(retriever):
    """Over the session's store (MiniLM vectors of the items' documents): asked with a topic, the
    picks are closer to it than without, and the backbone still has its say (some stay)."""
    import asyncio

    from agent.candidates import load_scene_data
    from agent.recommender import Recommender
    from agent.requests import RecommendRequest

    recommender = Recommender(retriever, None)
    ask = RecommendRequest(likes=["Groundhog Day (1993)", "Annie Hall (1977)"], target_scene=TARGET, k=10,
                           explain=False)
    plain = asyncio.run(recommender.recommend(ask))
    topical = asyncio.run(recommender.recommend(ask.model_copy(update={"topic": "space travel to other planets"})))
    data = load_scene_data(retriever)
    evidence = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=("Groundhog Day (1993)",))
    cosine = Topic(text="space travel to other planets").score(data, resolve(data, evidence))
    column = data.scene(TARGET).item_index

    def closeness(result) -> float:
        return float(np.mean([cosine[column[i.item_id]] for i in result.items]))

    assert closeness(topical) > closeness(plain)
    assert {i.item_id for i in topical.items} & {i.item_id for i in plain.items}
