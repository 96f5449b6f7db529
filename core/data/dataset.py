"""The in-memory form of a dataset: two data frames, validated once.

Interactions are many (1M for ML-1M), so they stay columnar; pydantic models are built only
for the few rows a caller asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.domain import Item

ITEM_COLUMNS = ["item_id", "title", "year", "genres", "text", "scene", "attributes"]
INTERACTION_COLUMNS = ["user_id", "item_id", "timestamp", "rating"]


@dataclass(frozen=True)
class Dataset:
    """``items`` is indexed by item_id (columns ``ITEM_COLUMNS[1:]``); ``interactions`` has
    ``INTERACTION_COLUMNS``. ``scene`` is set for imported data and None for MovieLens, whose
    scenes come from genres (see ``scenes.split_by_genre``)."""

    name: str
    items: pd.DataFrame
    interactions: pd.DataFrame

    def __post_init__(self) -> None:
        missing = set(ITEM_COLUMNS[1:]) - set(self.items.columns)
        if missing or self.items.index.name != "item_id":
            raise ValueError(f"items frame lacks {sorted(missing)} or an item_id index")
        if set(INTERACTION_COLUMNS) - set(self.interactions.columns):
            raise ValueError(f"interactions frame needs the columns {INTERACTION_COLUMNS}")

    @property
    def genres(self) -> list[str]:
        return sorted({g for gs in self.items["genres"] for g in gs})


def item_from_row(item_id: str, row: pd.Series) -> Item:
    year = row["year"]
    return Item(
        item_id=item_id,
        title=row["title"],
        year=None if pd.isna(year) else int(year),
        genres=tuple(row["genres"]),
        text=row["text"] or "",
        scene=row["scene"] if isinstance(row["scene"], str) else None,
        attributes=row["attributes"] or {},
    )
