"""Ingest a dataset and its scene split into the store.

Idempotent and resumable: records have deterministic ids and carry a hash of their content, so a
second run writes nothing, and a run killed midway, run again, embeds only what is missing. The
manifest marks the dataset complete only after the last write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from core.data.dataset import Dataset, item_from_row
from core.data.scenes import SceneMap
from core.domain import LIKED_RATING
from retrievers._embedding import embed_texts
from retrievers._records import digest, history_document, history_id, item_document, item_metadata
from retrievers.store import SceneStore, check_dataset_name

WRITE_BATCH = 512


@dataclass
class IngestReport:
    dataset: str
    items_total: int
    items_embedded: int
    items_relabelled: int
    items_deleted: int
    histories_total: int
    histories_written: int
    histories_deleted: int
    seconds: float

    @property
    def changed(self) -> bool:
        return any(
            (self.items_embedded, self.items_relabelled, self.items_deleted,
             self.histories_written, self.histories_deleted)
        )


def _batches(n: int, size: int = WRITE_BATCH):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _sync_items(store: SceneStore, dataset: Dataset, scene_map: SceneMap, *, batch_size: int,
                progress: bool) -> tuple[int, int, int]:
    collection = store.items(dataset.name)
    existing = collection.get(include=["metadatas"])
    have = {i: m for i, m in zip(existing["ids"], existing["metadatas"], strict=True)}

    scenes = scene_map.item_scene
    popularity = dataset.interactions["item_id"].value_counts()
    to_embed, to_relabel = [], []
    for item_id, row in dataset.items.iterrows():
        item = item_from_row(item_id, row).model_copy(update={"scene": scenes.get(item_id)})
        document = item_document(item)
        metadata = item_metadata(item, document, int(popularity.get(item_id, 0)))
        old = have.get(item_id)
        if old is None or old.get("doc_hash") != metadata["doc_hash"]:
            to_embed.append((item_id, document, metadata))
        elif old != metadata:
            to_relabel.append((item_id, document, metadata))

    stale = sorted(set(have) - set(dataset.items.index))
    if stale:
        collection.delete(ids=stale)

    with tqdm(total=len(to_embed), desc=f"embedding {dataset.name} items", unit="item",
              disable=not progress or not to_embed) as bar:
        for part in _batches(len(to_embed)):
            chunk = to_embed[part]
            vectors = embed_texts([doc for _, doc, _ in chunk], batch_size=batch_size)
            collection.upsert(
                ids=[item_id for item_id, _, _ in chunk],
                embeddings=vectors,
                documents=[doc for _, doc, _ in chunk],
                metadatas=[metadata for _, _, metadata in chunk],
            )
            bar.update(len(chunk))
    for part in _batches(len(to_relabel)):
        chunk = to_relabel[part]
        collection.update(ids=[c[0] for c in chunk], metadatas=[c[2] for c in chunk])
    return len(to_embed), len(to_relabel), len(stale)


def _item_vectors(store: SceneStore, dataset: str) -> tuple[dict[str, int], np.ndarray]:
    records = store.items(dataset).get(include=["embeddings"])
    index = {item_id: row for row, item_id in enumerate(records["ids"])}
    return index, np.asarray(records["embeddings"], dtype=np.float32)


def taste_profile(vectors: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """Unit mean of the liked items' vectors (rated >= 4, or all when none is, or unrated)."""
    liked = ratings >= LIKED_RATING
    chosen = vectors[liked] if liked.any() else vectors
    mean = chosen.mean(axis=0)
    norm = np.linalg.norm(mean)
    return mean / norm if norm > 0 else mean


def _sync_histories(store: SceneStore, dataset: Dataset, scene_map: SceneMap, *,
                    progress: bool) -> tuple[int, int, int]:
    collection = store.histories(dataset.name)
    existing = collection.get(include=["metadatas"])
    have = {i: m.get("doc_hash") for i, m in zip(existing["ids"], existing["metadatas"], strict=True)}

    frame = scene_map.interactions(dataset).sort_values(["user_id", "scene", "timestamp"], kind="stable")
    index, vectors = _item_vectors(store, dataset.name)
    pending, wanted = [], set()
    for (user_id, scene), group in frame.groupby(["user_id", "scene"], sort=False):
        record_id = history_id(user_id, scene)
        wanted.add(record_id)
        ratings = group["rating"].to_numpy(dtype=float, na_value=np.nan)
        entries = [
            (item, float(ts), None if np.isnan(r) else float(r))
            for item, ts, r in zip(group["item_id"], group["timestamp"], ratings, strict=True)
        ]
        document = history_document(entries)
        if have.get(record_id) != digest(document):
            pending.append((record_id, user_id, scene, group["item_id"].to_numpy(), ratings, document))

    stale = sorted(set(have) - wanted)
    if stale:
        for part in _batches(len(stale)):
            collection.delete(ids=stale[part])

    with tqdm(total=len(pending), desc=f"writing {dataset.name} histories", unit="history",
              disable=not progress or not pending) as bar:
        for part in _batches(len(pending)):
            chunk = pending[part]
            profiles = [
                taste_profile(vectors[[index[i] for i in items]], np.nan_to_num(ratings, nan=0.0)
                              if not np.isnan(ratings).all() else np.full(len(items), LIKED_RATING))
                for _, _, _, items, ratings, _ in chunk
            ]
            collection.upsert(
                ids=[c[0] for c in chunk],
                embeddings=np.stack(profiles),
                documents=[c[5] for c in chunk],
                metadatas=[
                    {"user_id": user, "scene": scene, "n": len(items), "doc_hash": digest(doc)}
                    for _, user, scene, items, _, doc in chunk
                ],
            )
            bar.update(len(chunk))
    return len(pending), len(stale), len(wanted)


def ingest(store: SceneStore, dataset: Dataset, scene_map: SceneMap, *, batch_size: int = 64,
           progress: bool = True, source: str | None = None, target: str | None = None) -> IngestReport:
    """Bring the store's copy of ``dataset`` in line with ``scene_map``."""
    check_dataset_name(dataset.name)
    started = time.perf_counter()
    store.record(dataset.name, complete=False, split=scene_map.key())
    embedded, relabelled, deleted = _sync_items(store, dataset, scene_map, batch_size=batch_size,
                                                progress=progress)
    written, hist_deleted, hist_total = _sync_histories(store, dataset, scene_map, progress=progress)
    store.record(
        dataset.name,
        complete=True,
        split=scene_map.key(),
        scenes=scene_map.names,
        source=source,
        target=target,
        items=len(dataset.items),
        items_in_scenes=int(len(scene_map.item_scene)),
        dropped_items=len(scene_map.dropped),
        histories=hist_total,
        users=int(scene_map.interactions(dataset)["user_id"].nunique()),
        ingested_at=pd.Timestamp.now(tz="UTC").isoformat(),
    )
    return IngestReport(
        dataset=dataset.name,
        items_total=len(dataset.items),
        items_embedded=embedded,
        items_relabelled=relabelled,
        items_deleted=deleted,
        histories_total=hist_total,
        histories_written=written,
        histories_deleted=hist_deleted,
        seconds=time.perf_counter() - started,
    )
