"""generate_candidates and score_candidates: what a candidate set may contain, and its fusion."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.candidates import (
    DEFAULT_GENERATORS,
    CandidateSet,
    UserEvidence,
    generate_candidates,
    make_generator,
    score_candidates,
    user_evidence,
)
from core.errors import NotFoundError, ScenebridgeError

from .conftest import SOURCE, TARGET


def check_set(scene_data, evidence, candidates: CandidateSet, exclude=()) -> None:
    target = scene_data.scene(TARGET)
    ids = candidates.item_ids
    assert len(ids) == len(set(ids))
    assert all(i in target.item_index for i in ids)
    assert not set(ids) & (set(evidence.target_history) | set(exclude))
    assert candidates.generators == list(DEFAULT_GENERATORS)
    assert all(set(c.scores) == set(DEFAULT_GENERATORS) for c in candidates.items)
    fused = candidates.fused()
    assert (np.diff(fused) <= 1e-12).all()  # sorted by the default fusion


def test_warm_user(scene_data, evidence):
    exclude = [str(i) for i in scene_data.scene(TARGET).items[:5]]
    candidates = generate_candidates(scene_data, evidence, exclude=exclude, limit=100)
    check_set(scene_data, evidence, candidates, exclude)
    assert 50 <= len(candidates.items) <= 100
    for name in DEFAULT_GENERATORS:  # every generator has signal for this user
        assert any(c.scores[name] > 0 for c in candidates.items)


def test_each_generators_best_item_is_proposed(scene_data, evidence):
    candidates = generate_candidates(scene_data, evidence, per_generator=5, limit=1000)
    every = score_candidates(scene_data, evidence, [str(i) for i in scene_data.scene(TARGET).items
                                              if i not in set(evidence.target_history)])
    for name in DEFAULT_GENERATORS:
        best = max(every.items, key=lambda c: c.scores[name])
        assert best.item_id in candidates.item_ids
    assert len(candidates.items) <= 4 * 5


def test_cold_user(scene_data, both_user):
    cold = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=True)
    candidates = generate_candidates(scene_data, cold)
    check_set(scene_data, cold, candidates)
    assert all(c.scores["itemknn"] == 0 for c in candidates.items)
    assert any(c.scores["cross_cooc"] > 0 for c in candidates.items)
    assert len({round(c.scores["embedding"], 9) for c in candidates.items}) > 1
    # no target history: itemknn has no signal, and the fusion gives it no weight in practice
    assert candidates.stats["itemknn"].std == 0


def test_liked_items_only_person(scene_data):
    source = scene_data.scene(SOURCE)
    liked = [str(i) for i in source.items[np.argsort(-source.popularity)[:3]]]
    person = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=liked)
    candidates = generate_candidates(scene_data, person, limit=20)
    check_set(scene_data, person, candidates)
    assert len(candidates.items) == 20


def test_limit_and_per_generator(scene_data, evidence):
    assert len(generate_candidates(scene_data, evidence, per_generator=3, limit=7).items) == 7
    with pytest.raises(ScenebridgeError):
        generate_candidates(scene_data, evidence, per_generator=0)


def test_generators_by_name_spec_or_instance(scene_data, evidence):
    candidates = generate_candidates(
        scene_data, evidence, generators=["popularity", {"name": "embedding", "config": {"center": False}},
                                    make_generator("cross_cooc")])
    assert candidates.generators == ["popularity", "embedding", "cross_cooc"]
    with pytest.raises(ScenebridgeError, match="twice"):
        generate_candidates(scene_data, evidence, generators=["popularity", "popularity"])
    with pytest.raises(NotFoundError, match="candidate generator"):
        generate_candidates(scene_data, evidence, generators=["popular"])


def test_score_candidates_keeps_the_callers_order(scene_data, evidence):
    ids = [str(i) for i in scene_data.scene(TARGET).items[:10]]
    candidates = score_candidates(scene_data, evidence, [*ids, ids[0]])
    assert candidates.item_ids == ids
    generated = generate_candidates(scene_data, evidence, exclude=ids[:3])
    again = score_candidates(scene_data, evidence, generated.item_ids)
    assert [c.scores for c in again.items] == [c.scores for c in generated.items]
    assert np.allclose(again.fused(), generated.fused())


def test_score_candidates_names_a_bad_id(scene_data, evidence):
    with pytest.raises(NotFoundError, match="'Not A Film'"):
        score_candidates(scene_data, evidence, ["Not A Film"])
    comedy = str(scene_data.scene(SOURCE).items[0])
    with pytest.raises(NotFoundError, match=re.escape(repr(comedy))) as error:
        score_candidates(scene_data, evidence, [comedy])
    assert "Comedy item, not a Sci-Fi item" in error.value.hint


def test_fusion_weights(scene_data, evidence):
    candidates = generate_candidates(scene_data, evidence)
    by_popularity = candidates.ranked({"popularity": 1.0})
    popularity = [c.scores["popularity"] for c in by_popularity.items]
    assert popularity == sorted(popularity, reverse=True)
    with pytest.raises(ScenebridgeError, match="not in this set"):
        candidates.fused({"llm": 1.0})
    # z-scores against the whole eligible scene: an item's fused score ignores the other candidates
    part = score_candidates(scene_data, evidence, candidates.item_ids[::3])
    assert np.allclose(part.fused(), candidates.fused()[::3])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.dictionaries(st.sampled_from(DEFAULT_GENERATORS),
                               st.floats(-3, 3, allow_nan=False), min_size=0, max_size=4),
       limit=st.integers(1, 150), per_generator=st.integers(1, 80), cold=st.booleans())
def test_a_set_is_duplicate_free_and_resorting_permutes_it(scene_data, both_user, weights, limit, per_generator, cold):
    evidence = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=cold)
    candidates = generate_candidates(scene_data, evidence, limit=limit, per_generator=per_generator)
    ids = candidates.item_ids
    assert len(ids) == len(set(ids)) and len(ids) <= limit
    resorted = candidates.ranked(weights)
    assert sorted(resorted.item_ids) == sorted(ids)
    assert {c.item_id: c.scores for c in resorted.items} == {c.item_id: c.scores for c in candidates.items}
    fused = resorted.fused(weights)
    assert (np.diff(fused) <= 1e-9).all()
