"""What the generators know about the person: ``UserEvidence``, and its resolution against the
loaded ``SceneData`` into column indices (``Query``).

A person is a known user (``user_id``) or only a list of liked items (no id). When ``user_id`` is
given, the generators score with the counts of everyone *else*: the user's own row is left out of
co-occurrence and popularity, so an offline evaluation that holds out the user's last target item
cannot see it through the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.candidates.scene_data import SceneData, SceneMatrix
from core.domain import LIKED_RATING
from core.errors import ScenebridgeError


class RatedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1)
    rating: float | None = Field(default=None, description="None: no rating, counts as liked.")


class UserEvidence(BaseModel):
    """A person's evidence for one request: source-scene items (liked, or rated), the target-scene
    history (empty for a cold user), and the scene pair."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = Field(default=None, description="A stored user; None for a person "
                                "described only by the items they like.")
    source_scene: str
    target_scene: str
    source_items: tuple[RatedItem, ...] = Field(default=(), description="Item ids or {item_id, rating}.")
    target_history: tuple[str, ...] = ()

    @field_validator("source_items", mode="before")
    @classmethod
    def _ids_are_items(cls, value):
        return tuple({"item_id": v} if isinstance(v, str) else v for v in value)

    @property
    def cold(self) -> bool:
        return not self.target_history


def user_evidence(data: SceneData, user_id: str, *, source: str | None = None,
                  target: str | None = None, cold: bool = False) -> UserEvidence:
    """A stored user's whole history as evidence (``cold`` hides the target history)."""
    source, target = source or data.source, target or data.target
    if source is None or target is None:
        raise ScenebridgeError(f"the store does not say which scenes of {data.dataset} are source "
                               "and target", hint=f"name them (scenes: {', '.join(data.scenes)})",
                               param="source")
    return UserEvidence(
        user_id=user_id, source_scene=source, target_scene=target,
        source_items=tuple(RatedItem(item_id=e.item_id, rating=e.rating)
                           for e in data.history(user_id, source)),
        target_history=() if cold else tuple(e.item_id for e in data.history(user_id, target)),
    )


@dataclass(frozen=True, eq=False)
class Query:
    """Evidence resolved to indices of the loaded data: what a generator's ``score`` reads."""

    evidence: UserEvidence
    source: SceneMatrix
    target: SceneMatrix
    source_items: np.ndarray  # columns of the source scene (unique, in evidence order)
    source_ratings: np.ndarray  # NaN where unrated
    target_items: np.ndarray  # columns of the target scene (unique)
    user_row: int | None  # the user's row, left out of every count; None for an anonymous person

    def liked_source(self, min_rating: float | None = LIKED_RATING) -> np.ndarray:
        """Source columns that count as liked: rated >= ``min_rating`` or unrated; all of them
        when none is liked (the same rule as the store's taste profiles)."""
        if min_rating is None:
            return self.source_items
        liked = np.isnan(self.source_ratings) | (self.source_ratings >= min_rating)
        return self.source_items[liked] if liked.any() else self.source_items


def resolve(data: SceneData, evidence: UserEvidence) -> Query:
    """Check the evidence against the data; unknown ids raise NotFoundError naming them."""
    source, target = data.scene(evidence.source_scene), data.scene(evidence.target_scene)
    if source is target:
        raise ScenebridgeError(f"the source and the target scene are both {source.scene!r}",
                               hint="choose two different scenes", param="target_scene")
    user_row = data.user_row(evidence.user_id) if evidence.user_id is not None else None
    firsts = {}
    for item in evidence.source_items:
        firsts.setdefault(item.item_id, item)  # the first mention of an item wins
    source_items = np.array([data.column(source, i) for i in firsts], dtype=np.int64)
    ratings = np.array([np.nan if r.rating is None else r.rating for r in firsts.values()], dtype=np.float64)
    target_items = np.array([data.column(target, i) for i in dict.fromkeys(evidence.target_history)],
                            dtype=np.int64)
    return Query(evidence=evidence, source=source, target=target, source_items=source_items,
                 source_ratings=ratings, target_items=target_items, user_row=user_row)
