"""Domain models: what a scene, an item, an interaction and a user's history are.

Ids are the dataset's own, unchanged (ML-1M: user ``1m_1``, item ``Toy Story (1995)``), so any
result can be checked against the raw files.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Item(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    scene: str | None = None
    year: int | None = None
    genres: tuple[str, ...] = ()
    text: str = Field(default="", description="Free text about the item (an overview, a synopsis).")
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Scene(BaseModel):
    """A domain of items. For MovieLens a scene is a set of genres (``Children's,Animation``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    genres: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Scene:
        """``"Children's,Animation"`` -> Scene(name="Children's,Animation", genres=(...))."""
        genres = tuple(g.strip() for g in spec.split(",") if g.strip())
        if not genres:
            raise ValueError(f"empty scene specification {spec!r}: name at least one genre")
        return cls(name=",".join(genres), genres=genres)

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a scene needs a name")
        return value


LIKED_RATING = 4.0  # a rating at least this counts as a like; an unrated interaction always does


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_id: str
    timestamp: float
    rating: float | None = None

    @property
    def liked(self) -> bool:
        return self.rating is None or self.rating >= LIKED_RATING


class UserHistory(BaseModel):
    """A user's interactions in one scene, oldest first."""

    user_id: str
    scene: str
    entries: list[HistoryEntry] = Field(default_factory=list)

    @property
    def item_ids(self) -> list[str]:
        return [entry.item_id for entry in self.entries]

    def __len__(self) -> int:
        return len(self.entries)


class ScoredItem(BaseModel):
    """An item returned by a retrieval call, with its similarity (cosine, higher is closer)."""

    item: Item
    score: float
