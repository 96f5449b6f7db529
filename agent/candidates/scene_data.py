"""Every user history of a dataset as sparse matrices, loaded once from the store.

The candidate generators read the store, not the raw dataset, so imported datasets work the same
way as MovieLens. ``SceneData`` holds, per scene, a users x items CSR matrix (one entry per
user and item: repeated interactions count once, the latest one's timestamp and rating are kept),
the item index maps, the popularity counts and the items' unit embedding vectors. All scenes share
one user index, so a user's rows in the source and the target scene line up (cross-scene
co-occurrence needs that).

Loading ML-1M (11.8k histories, 467k interactions) takes ~3 s on 2 busy cores (reading Chroma
and parsing the JSON documents dominate); ``load_scene_data`` caches
the result per store path, dataset and ingest time, so a re-ingested store is read again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.domain import HistoryEntry
from core.errors import DataError, NotFoundError
from retrievers import HistoryRecords, ItemRecords, StoreInfo, fetch_records


@dataclass(eq=False)
class SceneMatrix:
    """One scene: who interacted with which of its items (users x items, binary)."""

    scene: str
    items: np.ndarray  # item ids (str), column order
    item_index: dict[str, int]
    matrix: sp.csr_matrix  # users x items, 1.0 per (user, item)
    ratings: np.ndarray  # aligned with matrix.data; NaN where the interaction has no rating
    timestamps: np.ndarray  # aligned with matrix.data
    sequence: np.ndarray  # aligned with matrix.data: position in the store, breaks timestamp ties
    vectors: np.ndarray  # items x dim, unit rows (zero rows for items without an embedding)
    _likes: dict[float | None, sp.csr_matrix] = field(default_factory=dict, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def popularity(self) -> np.ndarray:
        """Users who interacted with each item."""
        return self.counts(None)

    def interactions(self, min_rating: float | None = None) -> sp.csr_matrix:
        """The binary matrix of interactions that count: all of them (``None``), or those rated
        at least ``min_rating``; an interaction without a rating always counts."""
        if min_rating is None:
            return self.matrix
        if min_rating not in self._likes:
            keep = np.isnan(self.ratings) | (self.ratings >= min_rating)
            liked = self.matrix.copy()
            liked.data = keep.astype(np.float32)
            liked.eliminate_zeros()
            self._likes[min_rating] = liked
        return self._likes[min_rating]

    def counts(self, min_rating: float | None = None) -> np.ndarray:
        return np.asarray(self.interactions(min_rating).sum(axis=0)).ravel()


@dataclass(eq=False)
class SceneData:
    """All scenes of one dataset of a store, with one shared user index."""

    dataset: str
    store_path: Path
    users: np.ndarray  # user ids (str), row order of every scene matrix
    user_index: dict[str, int]
    scenes: dict[str, SceneMatrix]
    info: StoreInfo = field(default_factory=StoreInfo)  # the store's manifest entry
    load_seconds: float = 0.0
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def source(self) -> str | None:
        """The source scene named at ingest (None for imported datasets)."""
        return self.info.source

    @property
    def target(self) -> str | None:
        return self.info.target

    @property
    def n_interactions(self) -> int:
        return sum(scene.matrix.nnz for scene in self.scenes.values())

    def scene(self, name: str) -> SceneMatrix:
        if name in self.scenes:
            return self.scenes[name]
        lowered = {s.lower(): s for s in self.scenes}
        if name.lower() in lowered:
            return self.scenes[lowered[name.lower()]]
        raise NotFoundError("scene", name, hint=f"the scenes of {self.dataset} are: {', '.join(self.scenes)}")

    def user_row(self, user_id: str) -> int:
        try:
            return self.user_index[user_id]
        except KeyError:
            raise NotFoundError(
                "user", user_id,
                hint=f"no user {user_id!r} in {self.dataset}; describe a new user by the items "
                "they like and leave user_id out",
            ) from None

    def history(self, user_id: str, scene: str) -> list[HistoryEntry]:
        """The user's interactions in ``scene``, oldest first (one per item)."""
        matrix = self.scene(scene)
        row = self.user_row(user_id)
        start, end = matrix.matrix.indptr[row], matrix.matrix.indptr[row + 1]
        columns = matrix.matrix.indices[start:end]
        stamps, ratings = matrix.timestamps[start:end], matrix.ratings[start:end]
        order = np.lexsort((matrix.sequence[start:end], stamps))
        return [
            HistoryEntry(item_id=str(matrix.items[columns[i]]), timestamp=float(stamps[i]),
                         rating=None if np.isnan(ratings[i]) else float(ratings[i]))
            for i in order
        ]

    def column(self, scene: SceneMatrix, item_id: str) -> int:
        """The item's column in ``scene``; NotFoundError naming the id (and its real scene) if absent."""
        column = scene.item_index.get(item_id)
        if column is not None:
            return column
        elsewhere = [s.scene for s in self.scenes.values() if item_id in s.item_index]
        hint = (f"{item_id!r} is a {elsewhere[0]} item, not a {scene.scene} item" if elsewhere else
                f"no {scene.scene} item has this id; ids are the dataset's own (ML-1M: 'Toy Story (1995)')")
        raise NotFoundError("item", item_id, hint=hint)

    def memo(self, key: Any, compute):
        """Derived arrays (bridge users, normalised counts) computed once per SceneData."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _scene_matrix(dataset: str, scene: str, histories: HistoryRecords, items: ItemRecords,
                  user_index: dict[str, int]) -> SceneMatrix:
    columns = np.flatnonzero(items.scenes == scene)
    scene_items = items.ids[columns]
    item_index = {str(i): n for n, i in enumerate(scene_items)}
    code = histories.scene_names.index(scene) if scene in histories.scene_names else -1
    selected = np.flatnonzero(histories.scene_codes == code)  # also each entry's store position
    unknown = sorted({i for i in histories.item_ids[selected].tolist() if i not in item_index})
    if unknown:
        raise DataError(
            f"the {dataset} histories name {len(unknown)} items that are not {scene!r} items in the "
            f"store (e.g. {unknown[0]!r})", hint="the store is inconsistent: run the same ingest again",
        )
    rows = np.fromiter((user_index[u] for u in histories.entry_users[selected]), np.int64, len(selected))
    cols = np.fromiter((item_index[i] for i in histories.item_ids[selected]), np.int64, len(selected))
    stamps = histories.timestamps[selected]
    # One entry per (user, item): sort by user, item, time and store position; keep each run's last.
    order = np.lexsort((selected, stamps, cols, rows))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (np.diff(rows[order]) != 0) | (np.diff(cols[order]) != 0)
    keep = order[last]  # grouped by row, columns ascending: canonical CSR order
    indptr = np.zeros(len(user_index) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=len(user_index)), out=indptr[1:])
    matrix = sp.csr_matrix((np.ones(len(keep), dtype=np.float32), cols[keep], indptr),
                           shape=(len(user_index), len(scene_items)))
    return SceneMatrix(
        scene=scene, items=scene_items, item_index=item_index, matrix=matrix,
        ratings=histories.ratings[selected][keep].astype(np.float32), timestamps=stamps[keep],
        sequence=selected[keep], vectors=_unit_rows(items.vectors[columns]),
    )


def build_scene_data(dataset: str, histories: HistoryRecords, items: ItemRecords, *,
                     store_path: Path | str = "", info: StoreInfo | None = None) -> SceneData:
    """Assemble the matrices from store records (``fetch_records``); pure, so tests can build a
    SceneData from edited records (for instance without one user)."""
    users = np.array(sorted(histories.users), dtype=object)
    user_index = {u: n for n, u in enumerate(users)}
    # Items outside every scene ("") are never candidates nor evidence.
    names = sorted((set(items.scenes.tolist()) | histories.scenes) - {""})
    scenes = {scene: _scene_matrix(dataset, scene, histories, items, user_index) for scene in names}
    return SceneData(dataset=dataset, store_path=Path(store_path), users=users, user_index=user_index,
                     scenes=scenes, info=info or StoreInfo())


_cache: dict[tuple[str, str, str], SceneData] = {}
_cache_lock = threading.Lock()


def load_scene_data(retriever, *, refresh: bool = False) -> SceneData:
    """All histories and item vectors of the retriever's dataset, cached in-process per store
    path, dataset and ingest time (``refresh`` reads the store again)."""
    store = retriever.store
    key = (str(store.path.resolve()), retriever.dataset, str(retriever.info.ingested_at))
    with _cache_lock:
        if not refresh and key in _cache:
            return _cache[key]
        started = time.perf_counter()
        histories, items = fetch_records(store, retriever.dataset)
        data = build_scene_data(retriever.dataset, histories, items, store_path=store.path,
                                info=retriever.info)
        data.load_seconds = time.perf_counter() - started
        _cache[key] = data
        return data
