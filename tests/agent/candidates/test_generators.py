"""The four generators, the registry, and the rule that a user's own interactions never count."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from agent.candidates import (
    CandidateGenerator,
    GeneratorConfig,
    RatedItem,
    UserEvidence,
    generator_names,
    make_generator,
    register_generator,
    user_evidence,
)
from agent.candidates.evidence import resolve
from agent.candidates.registry import _GENERATORS
from agent.candidates.scene_data import build_scene_data
from core.errors import NotFoundError, ScenebridgeError

from .conftest import SOURCE, TARGET

BUILT_IN = ["popularity", "itemknn", "cross_cooc", "embedding"]


def scores(scene_data, evidence, name, **config) -> np.ndarray:
    return make_generator({"name": name, "config": config}).score(scene_data, resolve(scene_data, evidence))


def test_built_ins_are_registered_with_json_configs():
    assert set(BUILT_IN) <= set(generator_names())
    for name in BUILT_IN:
        generator = make_generator(name)
        spec = json.loads(json.dumps(generator.spec()))
        assert spec["name"] == name
        assert make_generator(spec).config == generator.config


def test_unknown_generator_suggests_a_name():
    with pytest.raises(NotFoundError, match="popularty") as error:
        make_generator("popularty")
    assert "popularity" in error.value.hint
    with pytest.raises(Exception, match="extra"):
        make_generator({"name": "popularity", "config": {"no_such_field": 1}})


def test_an_extension_registers_the_same_way(scene_data, evidence):
    class ConstantConfig(GeneratorConfig):
        value: float = 1.0

    @register_generator
    class Constant(CandidateGenerator):
        name = "test_constant"
        Config = ConstantConfig

        def score(self, data, query):
            return np.full(query.target.n_items, self.config.value)

    try:
        assert "test_constant" in generator_names()
        assert (scores(scene_data, evidence, "test_constant", value=2.0) == 2.0).all()
        with pytest.raises(ScenebridgeError, match="already registered"):
            register_generator(type("Other", (Constant,), {}))
    finally:
        _GENERATORS.pop("test_constant")


@pytest.mark.parametrize("name", BUILT_IN)
def test_one_finite_score_per_target_item(scene_data, evidence, name):
    values = scores(scene_data, evidence, name)
    assert values.shape == (scene_data.scene(TARGET).n_items,)
    assert np.isfinite(values).all()
    assert values.std() > 0


# -- the user's own interactions never count -------------------------------------------------
@pytest.fixture(scope="module")
def data_without_user(ml100k_records, both_user):
    histories, items = ml100k_records
    return build_scene_data("ml-100k", histories.without_users({both_user}), items)


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("cold", [False, True])
def test_scores_are_those_of_the_data_without_the_user(scene_data, data_without_user, both_user, name, cold):
    """Scoring a known user equals scoring the same evidence, anonymously, on a store from which
    that user was removed: nothing of theirs leaks into the counts."""
    evidence = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=cold)
    anonymous = evidence.model_copy(update={"user_id": None})
    assert np.allclose(scores(scene_data, evidence, name), scores(data_without_user, anonymous, name),
                       rtol=1e-9, atol=1e-12)


def test_popularity_without_the_user_differs_by_their_row(scene_data, evidence, both_user):
    anonymous = evidence.model_copy(update={"user_id": None})
    difference = scores(scene_data, anonymous, "popularity") - scores(scene_data, evidence, "popularity")
    target = scene_data.scene(TARGET)
    own = np.zeros(target.n_items)
    own[[target.item_index[e.item_id] for e in scene_data.history(both_user, TARGET)]] = 1.0
    assert np.array_equal(difference, own)


@pytest.mark.parametrize("name", ["itemknn", "cross_cooc"])
def test_cooccurrence_changes_when_the_user_counts(scene_data, evidence, name):
    """The held-out style check the other way round: counting the user raises the co-occurrence
    of their own target items, which is exactly what must not happen in evaluation."""
    anonymous = evidence.model_copy(update={"user_id": None})
    with_user, without_user = scores(scene_data, anonymous, name), scores(scene_data, evidence, name)
    target = scene_data.scene(TARGET)
    own = [target.item_index[i] for i in evidence.target_history]
    assert (with_user[own] > without_user[own]).mean() > 0.5


def test_cosine_cooccurrence_by_hand(scene_data, evidence):
    """itemknn against the textbook formula on dense matrices."""
    target = scene_data.scene(TARGET)
    query = resolve(scene_data, evidence)
    matrix = target.matrix.toarray().astype(np.float64)
    matrix[query.user_row] = 0.0
    counts = matrix.sum(axis=0)
    cooc = matrix[:, query.target_items].T @ matrix
    norm = np.sqrt(np.outer(counts[query.target_items], counts))
    expected = np.divide(cooc, norm, out=np.zeros_like(cooc), where=norm > 0).sum(axis=0)
    assert np.allclose(scores(scene_data, evidence, "itemknn"), expected)


def test_cross_cooc_by_hand(scene_data, evidence):
    source, target = scene_data.scene(SOURCE), scene_data.scene(TARGET)
    query = resolve(scene_data, evidence)
    likes = source.interactions(4.0).toarray().astype(np.float64)
    seen = target.matrix.toarray().astype(np.float64)
    bridge = (likes.sum(axis=1) > 0) & (seen.sum(axis=1) > 0)
    bridge[query.user_row] = False
    likes, seen = likes[bridge], seen[bridge]
    liked = query.liked_source(4.0)
    cooc = likes[:, liked].T @ seen
    norm = np.sqrt(np.outer(likes.sum(axis=0)[liked], seen.sum(axis=0)))
    expected = np.divide(cooc, norm, out=np.zeros_like(cooc), where=norm > 0).sum(axis=0)
    assert np.allclose(scores(scene_data, evidence, "cross_cooc"), expected)


# -- cold and anonymous people -----------------------------------------------------------------
def test_cold_user_keeps_the_cross_scene_signals(scene_data, both_user):
    cold = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=True)
    assert cold.cold
    assert (scores(scene_data, cold, "itemknn") == 0).all()
    for name in ("cross_cooc", "embedding", "popularity"):
        assert scores(scene_data, cold, name).std() > 0


def test_liked_items_only_person(scene_data):
    source = scene_data.scene(SOURCE)
    liked = [str(i) for i in source.items[np.argsort(-source.popularity)[:5]]]
    person = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=liked)
    assert person.user_id is None and all(r.rating is None for r in person.source_items)
    for name in ("cross_cooc", "embedding"):
        assert scores(scene_data, person, name).std() > 0


def test_embedding_is_the_centred_taste_cosine(scene_data, evidence):
    query = resolve(scene_data, evidence)
    source, target = scene_data.scene(SOURCE), scene_data.scene(TARGET)
    liked = query.liked_source(4.0)
    taste = source.vectors[liked].mean(axis=0) - source.vectors.mean(axis=0)
    items = target.vectors - target.vectors.mean(axis=0)
    expected = items @ taste / np.linalg.norm(items, axis=1) / np.linalg.norm(taste)
    assert np.allclose(scores(scene_data, evidence, "embedding"), expected, atol=1e-5)
    raw = source.vectors[liked].mean(axis=0)
    assert np.allclose(scores(scene_data, evidence, "embedding", center=False),
                       target.vectors @ (raw / np.linalg.norm(raw)), atol=1e-5)


def test_ratings_decide_what_is_liked(scene_data):
    source = scene_data.scene(SOURCE)
    a, b = (str(i) for i in source.items[:2])
    disliked = UserEvidence(source_scene=SOURCE, target_scene=TARGET,
                            source_items=[RatedItem(item_id=a, rating=5.0), RatedItem(item_id=b, rating=1.0)])
    only_a = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=[a])
    for name in ("cross_cooc", "embedding"):
        assert np.allclose(scores(scene_data, disliked, name), scores(scene_data, only_a, name))


def test_bad_evidence_names_the_id(scene_data, both_user):
    target_item = str(scene_data.scene(TARGET).items[0])
    with pytest.raises(NotFoundError, match=re.escape(repr(target_item))) as error:
        resolve(scene_data, UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=[target_item]))
    assert error.value.hint == f"{target_item!r} is a Sci-Fi item, not a Comedy item"
    with pytest.raises(NotFoundError, match="'No Such Film'"):
        resolve(scene_data, UserEvidence(source_scene=SOURCE, target_scene=TARGET, target_history=["No Such Film"]))
    with pytest.raises(NotFoundError, match="user"):
        resolve(scene_data, UserEvidence(user_id="ghost", source_scene=SOURCE, target_scene=TARGET))
    with pytest.raises(ScenebridgeError, match="both"):
        resolve(scene_data, UserEvidence(source_scene=TARGET, target_scene=TARGET))
