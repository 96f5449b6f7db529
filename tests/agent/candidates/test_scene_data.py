"""SceneData: every history of the store as sparse matrices, checked against the dataset; and
the store-free SceneData of the other candidate tests checked against the store's."""

from __future__ import annotations

import time

import numpy as np
import pytest

from agent.candidates import load_scene_data
from agent.candidates.scene_data import build_scene_data
from core.errors import NotFoundError
from retrievers import HistoryRecords, ItemRecords, fetch_records

from .conftest import SOURCE, TARGET


def test_matrices_match_the_dataset(data, ml100k, ml100k_split):
    frame = ml100k_split.interactions(ml100k)
    assert set(data.scenes) == {SOURCE, TARGET}
    for scene in (SOURCE, TARGET):
        part = frame[frame["scene"] == scene]
        matrix = data.scene(scene)
        assert matrix.matrix.nnz == len(part.drop_duplicates(["user_id", "item_id"]))
        assert set(matrix.items) == set(ml100k_split.items_in(scene))
        assert np.isclose(matrix.matrix.data, 1.0).all()
        expected = part.groupby("item_id")["user_id"].nunique()
        popularity = dict(zip(matrix.items, matrix.popularity, strict=True))
        assert all(popularity[i] == n for i, n in expected.items())
        assert matrix.vectors.shape == (matrix.n_items, 384)
        assert np.allclose(np.linalg.norm(matrix.vectors, axis=1), 1.0, atol=1e-5)
    assert len(data.users) == frame["user_id"].nunique()


def test_history_matches_the_retriever(data, retriever, both_user):
    for scene in (SOURCE, TARGET):
        assert data.history(both_user, scene) == retriever.history(both_user, scene).entries


def test_rows_line_up_across_scenes(data, both_user):
    row = data.user_row(both_user)
    for scene in (SOURCE, TARGET):
        matrix = data.scene(scene)
        start, end = matrix.matrix.indptr[row], matrix.matrix.indptr[row + 1]
        assert set(matrix.items[matrix.matrix.indices[start:end]]) == {
            e.item_id for e in data.history(both_user, scene)}


def test_the_store_free_data_is_the_stores_but_for_the_vectors(data, scene_data, ml100k_records, retriever):
    """What the candidate tests run on without the store (tests/conftest.py ``ml100k_records``)
    is entry for entry what the store holds: the same users, items, interactions and order."""
    histories, items = fetch_records(retriever.store, retriever.dataset)
    made_histories, made_items = ml100k_records
    for field in ("entry_users", "scene_codes", "item_ids", "timestamps"):
        assert np.array_equal(getattr(histories, field), getattr(made_histories, field)), field
    assert histories.scene_names == made_histories.scene_names
    assert np.array_equal(histories.ratings, made_histories.ratings, equal_nan=True)
    assert np.array_equal(items.ids, made_items.ids) and np.array_equal(items.scenes, made_items.scenes)
    assert items.vectors.shape == made_items.vectors.shape
    assert np.array_equal(data.users, scene_data.users) and set(data.scenes) == set(scene_data.scenes)
    for scene in (SOURCE, TARGET):
        stored, made = data.scene(scene), scene_data.scene(scene)
        assert np.array_equal(stored.items, made.items)
        assert (stored.matrix != made.matrix).nnz == 0
        for field in ("timestamps", "sequence"):
            assert np.array_equal(getattr(stored, field), getattr(made, field)), field
        assert np.array_equal(stored.ratings, made.ratings, equal_nan=True)
    assert (data.source, data.target, data.info.scenes) == (scene_data.source, scene_data.target,
                                                            scene_data.info.scenes)


def test_loaded_once_per_store(retriever, data):
    started = time.perf_counter()
    assert load_scene_data(retriever) is data
    assert time.perf_counter() - started < 0.01
    assert data.load_seconds > 0


def test_build_is_pure_and_drops_a_user(ml100k_records, both_user):
    histories, items = ml100k_records
    full = build_scene_data("ml-100k", histories, items)
    without = build_scene_data("ml-100k", histories.without_users({both_user}), items)
    assert both_user in full.user_index and both_user not in without.user_index
    for scene in (SOURCE, TARGET):
        own = len(full.history(both_user, scene))
        assert without.scene(scene).matrix.nnz == full.scene(scene).matrix.nnz - own


def test_unknown_names_say_what_exists(scene_data):
    with pytest.raises(NotFoundError, match="unknown user: 'nobody'"):
        scene_data.user_row("nobody")
    with pytest.raises(NotFoundError) as error:
        scene_data.scene("Westerns")
    assert "Comedy" in error.value.hint and "Sci-Fi" in error.value.hint
    assert scene_data.scene("sci-fi") is scene_data.scene(TARGET)


def test_repeated_interactions_count_once_and_keep_the_latest():
    """Imported data may repeat an interaction (a news item clicked twice)."""
    histories = HistoryRecords(
        entry_users=np.array(["u1", "u1", "u1", "u2"], dtype=object),
        scene_names=["news"],
        scene_codes=np.zeros(4, dtype=np.int64),
        item_ids=np.array(["a", "b", "a", "a"], dtype=object),
        timestamps=np.array([1.0, 2.0, 3.0, 1.0]),
        ratings=np.array([2.0, np.nan, 5.0, np.nan]),
    )
    items = ItemRecords(ids=np.array(["a", "b", "c"], dtype=object),
                        scenes=np.array(["news", "news", ""], dtype=object),
                        vectors=np.eye(3, dtype=np.float32))
    data = build_scene_data("toy", histories, items)
    news = data.scene("news")
    assert list(news.items) == ["a", "b"] and news.matrix.nnz == 3
    assert list(news.popularity) == [2, 1]
    assert [(e.item_id, e.timestamp, e.rating) for e in data.history("u1", "news")] == [
        ("b", 2.0, None), ("a", 3.0, 5.0)]
    assert list(news.counts(4.0)) == [2, 1]  # unrated counts as liked
