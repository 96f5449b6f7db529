"""The whole store as flat arrays, for the collaborative models: one read of each collection, one
JSON parse of all history documents at once (the record schema is ``_records.py``'s: a history
is one user in one scene, its document a JSON list of ``[item_id, timestamp, rating]``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from itertools import chain

import numpy as np

from core.errors import StoreError
from retrievers._records import NO_SCENE
from retrievers.store import SceneStore


@dataclass(frozen=True)
class HistoryRecords:
    """Every interaction of the histories collection, one array entry per interaction."""

    entry_users: np.ndarray  # user id of each interaction (object)
    scene_names: list[str]
    scene_codes: np.ndarray  # index into scene_names
    item_ids: np.ndarray  # object
    timestamps: np.ndarray  # float64
    ratings: np.ndarray  # float64, NaN where unrated

    @property
    def users(self) -> set[str]:
        return set(self.entry_users.tolist())

    @property
    def scenes(self) -> set[str]:
        return {self.scene_names[c] for c in np.unique(self.scene_codes)}

    def without_users(self, users: set[str]) -> HistoryRecords:
        keep = ~np.isin(self.entry_users, list(users))
        return replace(self, entry_users=self.entry_users[keep], scene_codes=self.scene_codes[keep],
                       item_ids=self.item_ids[keep], timestamps=self.timestamps[keep],
                       ratings=self.ratings[keep])

    @classmethod
    def from_chroma(cls, records: dict) -> HistoryRecords:
        metadatas, documents = records["metadatas"], records["documents"]
        if not documents:
            empty = np.array([], dtype=object)
            return cls(empty, [], np.array([], dtype=np.int64), empty, np.array([]), np.array([]))
        # One parse of all documents joined is faster than one json.loads per record.
        parsed = json.loads("[" + ",".join(documents) + "]")
        lengths = np.fromiter((len(d) for d in parsed), dtype=np.int64, count=len(parsed))
        entries = list(chain.from_iterable(parsed))
        scene_names = sorted({m["scene"] for m in metadatas})
        code = {s: n for n, s in enumerate(scene_names)}
        return cls(
            entry_users=np.repeat(np.array([m["user_id"] for m in metadatas], dtype=object), lengths),
            scene_names=scene_names,
            scene_codes=np.repeat(np.array([code[m["scene"]] for m in metadatas], dtype=np.int64), lengths),
            item_ids=np.array([e[0] for e in entries], dtype=object),
            timestamps=np.array([e[1] for e in entries], dtype=np.float64),
            ratings=np.array([e[2] for e in entries], dtype=np.float64),  # None -> NaN
        )


@dataclass(frozen=True)
class ItemRecords:
    ids: np.ndarray  # object
    scenes: np.ndarray  # object; "" for items in no scene
    vectors: np.ndarray  # float32, items x dim

    @classmethod
    def from_chroma(cls, records: dict) -> ItemRecords:
        vectors = records["embeddings"]
        return cls(
            ids=np.array(records["ids"], dtype=object),
            scenes=np.array([m.get("scene") or NO_SCENE for m in records["metadatas"]], dtype=object),
            vectors=np.asarray(vectors, dtype=np.float32).reshape(len(records["ids"]), -1),
        )


def fetch_records(store: SceneStore, dataset: str) -> tuple[HistoryRecords, ItemRecords]:
    items = ItemRecords.from_chroma(store.items(dataset).get(include=["embeddings", "metadatas"]))
    if not len(items.ids):
        raise StoreError(f"the store at {store.path} holds no items for {dataset!r}",
                         hint="ingest the dataset first: scenebridge ingest --dataset ...", param="dataset")
    histories = HistoryRecords.from_chroma(store.histories(dataset).get(include=["metadatas", "documents"]))
    return histories, items
