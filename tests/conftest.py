"""Shared fixtures: real MovieLens data from the installed packages and a real Chroma store.

The ML-100k Comedy -> Sci-Fi store is built once per test session (about 25 s: MiniLM on CPU).
Tests whose subject needs no embeddings use the same data without it: ``ml100k_records`` and
``scene_data`` are the store's records and SceneData made straight from the dataset.

The tiers are read off the fixtures (``pytest_collection_modifyitems``): a test that uses the
store (``store_path`` or anything built on it) is marked ``store``, one that uses the model
server (``llm_url``) ``live_llm``. ``item.fixturenames`` is the transitive closure, so a fixture
of a fixture counts. A test that builds a store of its own carries the mark by hand.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.data import load_dataset, split_by_genre
from core.data.movielens import MOVIELENS
from retrievers import HistoryRecords, ItemRecords, Retriever, SceneStore, StoreInfo, ingest

STORE_FIXTURES = frozenset({"store_path", "retriever", "data"})
LIVE_LLM_FIXTURES = frozenset({"llm_url", "chat_llm_url"})
SOURCE, TARGET = "Comedy", "Sci-Fi"
STAND_IN_DIM = 384  # MiniLM's


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & STORE_FIXTURES:
            item.add_marker(pytest.mark.store)
        if used & LIVE_LLM_FIXTURES:
            item.add_marker(pytest.mark.live_llm)
        if "realdata" in item.keywords:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


@pytest.fixture(scope="session")
def ml100k():
    return load_dataset("ml-100k")


@pytest.fixture(scope="session")
def ml100k_split(ml100k):
    return split_by_genre(ml100k, SOURCE, TARGET)


def records_of(dataset, split) -> tuple[HistoryRecords, ItemRecords]:
    """What ``fetch_records`` reads from a store, made from a dataset and scene split without one:
    the histories as ingest writes them (by user, scene and time), every item with its scene, and
    seeded random unit vectors standing in for MiniLM's."""
    frame = split.interactions(dataset).sort_values(["user_id", "scene", "timestamp"], kind="stable")
    scene_names = sorted(frame["scene"].unique())
    code = {name: n for n, name in enumerate(scene_names)}
    histories = HistoryRecords(
        entry_users=frame["user_id"].to_numpy(dtype=object),
        scene_names=scene_names,
        scene_codes=frame["scene"].map(code).to_numpy(dtype=np.int64),
        item_ids=frame["item_id"].to_numpy(dtype=object),
        timestamps=frame["timestamp"].to_numpy(dtype=np.float64),
        ratings=frame["rating"].to_numpy(dtype=np.float64, na_value=np.nan),
    )
    ids = dataset.items.index.to_numpy(dtype=object)
    vectors = np.random.default_rng(384).standard_normal((len(ids), STAND_IN_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scenes = np.array([split.item_scene.get(i, "") for i in ids], dtype=object)
    return histories, ItemRecords(ids=ids, scenes=scenes, vectors=vectors)


@pytest.fixture(scope="session")
def ml100k_records(ml100k, ml100k_split) -> tuple[HistoryRecords, ItemRecords]:
    """The session store's records made without the store (``records_of``). The store tier checks
    that it is the store's own data but for the vectors (tests/agent/candidates/test_scene_data.py)."""
    return records_of(ml100k, ml100k_split)


@pytest.fixture(scope="session")
def scene_data(ml100k_records):
    """The ML-100k Comedy -> Sci-Fi SceneData without the store (stand-in vectors): for the
    candidate generators and everything else that reads histories, not embeddings."""
    from agent.candidates.scene_data import build_scene_data

    return build_scene_data("ml-100k", *ml100k_records,
                            info=StoreInfo(scenes=[SOURCE, TARGET], source=SOURCE, target=TARGET))


@pytest.fixture(scope="session")
def store_path(tmp_path_factory, ml100k, ml100k_split) -> Path:
    path = tmp_path_factory.mktemp("store")
    ingest(SceneStore(path, create=True), ml100k, ml100k_split, progress=False,
           source="Comedy", target="Sci-Fi")
    return path


@pytest.fixture(scope="session")
def retriever(store_path) -> Retriever:
    return Retriever(SceneStore(store_path))


@pytest.fixture(scope="session")
def data(retriever):
    """Every history of the ML-100k store, loaded for the candidate generators and protocols."""
    from agent.candidates import load_scene_data

    return load_scene_data(retriever)


class RawMovieLens:
    """An independent reading of the raw atomic files with the csv module (no pandas, no
    scenebridge code), to check scenebridge's counts against."""

    def __init__(self, name: str):
        source = MOVIELENS[name]
        with source.path("item").open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        self.genres = {}
        for row in rows:
            self.genres.setdefault(row[0], set(row[3].split()))
        with source.path("inter").open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        self.ratings = [(u, i, float(r), float(t)) for u, i, r, t in rows]

    def split(self, source: set[str], target: set[str]):
        item_scene, dropped = {}, set()
        for item, genres in self.genres.items():
            s, t = bool(genres & source), bool(genres & target)
            if s and t:
                dropped.add(item)
            elif s:
                item_scene[item] = "source"
            elif t:
                item_scene[item] = "target"
        return item_scene, dropped

    def user_scene_items(self, item_scene: dict[str, str]) -> dict[tuple[str, str], set[str]]:
        seen = defaultdict(set)
        for user, item, _, _ in self.ratings:
            if item in item_scene:
                seen[(user, item_scene[item])].add(item)
        return seen

    def active_in_both(self, item_scene: dict[str, str], minimum: int = 5) -> int:
        counts = Counter()
        for (user, scene), items in self.user_scene_items(item_scene).items():
            if len(items) >= minimum:
                counts[user] += 1
        return sum(1 for n in counts.values() if n == 2)


@pytest.fixture(scope="session")
def raw100k() -> RawMovieLens:
    return RawMovieLens("ml-100k")


@pytest.fixture(scope="session")
def llm_url():
    """A real vLLM server for the whole run: the one already answering at the configured local
    URL (or SCENEBRIDGE_TEST_LLM_URL), else one started here with the prepared default model and
    stopped at the end."""
    from agent.llm.models import prepare_model
    from agent.llm.server import is_ready, start_server, stop_server, wait_ready
    from core.settings import get_settings

    settings = get_settings()
    url = os.environ.get("SCENEBRIDGE_TEST_LLM_URL") or settings.local_llm_url
    if is_ready(url):
        yield url
        return
    model_dir = prepare_model(settings.llm_model, settings.cache_dir, progress=False)
    process = start_server(model_dir, settings.llm_model, settings.llm_port, settings.llm_host,
                           settings.kv_cache_gib, max_model_len=settings.llm_max_model_len)
    try:
        wait_ready(url, process, settings.llm_start_timeout, progress=False)
        yield url
    finally:
        stop_server(process)
