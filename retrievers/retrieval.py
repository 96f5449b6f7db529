"""The retrieval calls the agent makes against a finished store.

- ``items``: item knowledge by ids
- ``history``: a user's history in a scene, oldest first
- ``evidence``: the user's source-scene items closest to a target item (explanations cite them)
- ``search``: free text to items ("groundhog day" -> Groundhog Day (1993))
- ``similar``: items closest to an item, optionally within a scene
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, wraps
from typing import Concatenate, ParamSpec, TypeVar

import httpx
import numpy as np
from rapidfuzz import fuzz, process

from core.domain import Item, ScoredItem, UserHistory
from core.errors import NotFoundError, ScenebridgeError
from core.settings import get_settings
from core.titles import LOOKALIKE, normalize_title, split_year, title_similarity
from retrievers._chroma import unreachable
from retrievers._records import history_from_record, history_id, item_from_record
from retrievers.store import SceneStore

P, R = ParamSpec("P"), TypeVar("R")


def _reaching(method: Callable[Concatenate[Retriever, P], R]) -> Callable[Concatenate[Retriever, P], R]:
    """A method that calls the collections (reads only, so safe to repeat): a Chroma server gone
    since start-up is a StoreError naming it (a 503 from the HTTP server), not httpx's raw error (a
    500). One failed call is tried once more first: after the server restarts, the client's pooled
    connections to the old one fail one by one, and a fresh connection answers. A call that timed
    out is not: the server is frozen, and a second wait would double the time to say so."""
    @wraps(method)
    def call(self: Retriever, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except httpx.TimeoutException as exc:
            raise unreachable(self.store.location, exc) from exc
        except httpx.TransportError:
            pass
        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.store.location, exc) from exc
    return call


class Retriever:
    def __init__(self, store: SceneStore, dataset: str | None = None):
        self.store = store
        self.dataset, self.info = store.info(dataset)
        self.scenes: list[str] = self.info.scenes
        self._items = store.items(self.dataset)
        self._histories = store.histories(self.dataset)

    # -- validation -------------------------------------------------------------------------
    def check_scene(self, scene: str | None) -> str | None:
        if scene is None or scene in self.scenes:
            return scene
        lowered = {s.lower(): s for s in self.scenes}
        if scene.lower() in lowered:
            return lowered[scene.lower()]
        raise NotFoundError(
            "scene", scene,
            hint=f"the store's scenes for {self.dataset} are: {', '.join(self.scenes)}",
        )

    @cached_property
    @_reaching
    def _titles(self) -> tuple[list[str], list[str], list[str], list[int], list[int | None]]:
        """(ids, normalised titles, scenes, popularity, years) of the whole catalogue, loaded once."""
        records = self._items.get(include=["metadatas"])
        metadatas = records["metadatas"]
        return (
            records["ids"],
            [normalize_title(m["title"]) for m in metadatas],
            [m.get("scene", "") for m in metadatas],
            [int(m.get("popularity", 0)) for m in metadatas],
            [m.get("year") for m in metadatas],
        )

    @_reaching
    def catalogue(self) -> list[Item]:
        """Every item of the dataset (in a scene or not)."""
        records = self._items.get(include=["metadatas"])
        return [item_from_record(i, m) for i, m in zip(records["ids"], records["metadatas"], strict=True)]

    @cached_property
    @_reaching
    def _users(self) -> set[str]:
        records = self._histories.get(include=["metadatas"])
        return {m["user_id"] for m in records["metadatas"]}

    def check_user(self, user_id: str) -> str:
        if user_id not in self._users:
            raise NotFoundError(
                "user", user_id,
                hint=f"no user {user_id!r} in {self.dataset} (ML-1M users look like '1m_1'); "
                "describe a new user by the items they like instead",
            )
        return user_id

    # -- items --------------------------------------------------------------------------------
    @_reaching
    def items(self, item_ids: Sequence[str]) -> list[Item]:
        """Item knowledge, in the order asked; unknown ids raise with the closest titles."""
        if not item_ids:
            return []
        records = self._items.get(ids=list(dict.fromkeys(item_ids)), include=["metadatas"])
        found = {i: item_from_record(i, m) for i, m in zip(records["ids"], records["metadatas"], strict=True)}
        for item_id in item_ids:
            if item_id not in found:
                raise NotFoundError("item", item_id, suggestions=[s.item.item_id for s in self.search(item_id, k=3)])
        return [found[i] for i in item_ids]

    @_reaching
    def _vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        records = self._items.get(ids=list(item_ids), include=["embeddings"])
        by_id = dict(zip(records["ids"], records["embeddings"], strict=True))
        missing = [i for i in item_ids if i not in by_id]
        if missing:
            raise NotFoundError("item", missing[0])
        return np.asarray([by_id[i] for i in item_ids], dtype=np.float32)

    # -- users ----------------------------------------------------------------------------------
    @_reaching
    def history(self, user_id: str, scene: str) -> UserHistory:
        """The user's interactions in ``scene``, oldest first (empty if none there)."""
        scene = self.check_scene(scene)
        self.check_user(user_id)
        records = self._histories.get(ids=[history_id(user_id, scene)], include=["documents"])
        if not records["ids"]:
            return UserHistory(user_id=user_id, scene=scene)
        return history_from_record(user_id, scene, records["documents"][0])

    # -- neighbours ------------------------------------------------------------------------------
    @_reaching
    def _query(self, vector: np.ndarray, *, scene: str | None, k: int,
               exclude: Iterable[str] = ()) -> list[ScoredItem]:
        exclude = set(exclude)
        where = {"scene": scene} if scene else None
        n = min(k + len(exclude), self._items.count())
        if n <= 0:
            return []
        result = self._items.query(query_embeddings=[vector], n_results=n, where=where,
                                   include=["metadatas", "distances"])
        scored = [
            ScoredItem(item=item_from_record(i, m), score=1.0 - float(d))
            for i, m, d in zip(result["ids"][0], result["metadatas"][0], result["distances"][0], strict=True)
            if i not in exclude
        ]
        return scored[:k]

    def similar(self, item_id: str, *, scene: str | None = None, k: int = 10) -> list[ScoredItem]:
        """Items closest to ``item_id`` (itself excluded), optionally within one scene."""
        scene = self.check_scene(scene)
        return self._query(self._vectors([item_id])[0], scene=scene, k=k, exclude={item_id})

    def evidence(self, user_id: str, item_id: str, *, scene: str, k: int = 3) -> list[ScoredItem]:
        """The user's items in ``scene`` closest to ``item_id``: what an explanation cites."""
        history = self.history(user_id, scene)
        return self.evidence_from(history.item_ids, item_id, k=k)

    def evidence_from(self, history_ids: Sequence[str], item_id: str, *, k: int = 3) -> list[ScoredItem]:
        ids = list(dict.fromkeys(history_ids))
        if not ids:
            return []
        vectors = self._vectors([item_id, *ids])
        scores = vectors[1:] @ vectors[0]
        order = np.argsort(-scores, kind="stable")[:k]
        items = self.items([ids[i] for i in order])
        return [ScoredItem(item=item, score=float(scores[i])) for item, i in zip(items, order, strict=True)]

    # -- free text --------------------------------------------------------------------------------
    @_reaching
    def search(self, text: str, *, k: int = 10, scene: str | None = None) -> list[ScoredItem]:
        """Titles first (typos and moved articles forgiven), then meaning (MiniLM)."""
        scene = self.check_scene(scene)
        query = normalize_title(text)
        if not query:
            raise ScenebridgeError("empty search text", hint="give a title or a description", param="query")
        ids, titles, scenes, popularity, years = self._titles
        choices = {n: t for n, t in enumerate(titles) if scene is None or scenes[n] == scene}
        hits = process.extract(query, choices, scorer=title_similarity, limit=max(k, 50),
                               score_cutoff=LOOKALIKE)
        # Exact title first, of the year asked if one is ("Sabrina (1954)" is not the remake);
        # among equal scores the closer spelling, then the better known item.
        year = split_year(text.strip())[1]
        hits.sort(key=lambda hit: (hit[0] != query, year is not None and years[hit[2]] != year, -hit[1],
                                   -fuzz.ratio(query, hit[0]), -popularity[hit[2]]))
        hits = hits[:k]
        ranked = [(ids[index], score / 100.0) for _, score, index in hits]
        seen = {item_id for item_id, _ in ranked}
        if len(ranked) < k:
            semantic = self._items.query(
                query_texts=[text], n_results=min(k, self._items.count()),
                where={"scene": scene} if scene else None, include=["distances"],
            )
            for item_id, distance in zip(semantic["ids"][0], semantic["distances"][0], strict=True):
                if item_id not in seen:
                    ranked.append((item_id, (1.0 - float(distance)) * LOOKALIKE / 100.0))
                    seen.add(item_id)
        ranked = ranked[:k]
        items = self.items([item_id for item_id, _ in ranked])
        return [ScoredItem(item=item, score=score) for item, (_, score) in zip(items, ranked, strict=True)]

    def resolve(self, text: str, *, scene: str | None = None) -> Item:
        """One item for a title someone typed; raises with suggestions when none is close."""
        hits = self.search(text, k=5, scene=scene)
        if hits and hits[0].score >= get_settings().title_match / 100:
            return hits[0].item
        raise NotFoundError("item", text, suggestions=[h.item.item_id for h in hits[:3]])
