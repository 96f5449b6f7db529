"""How domain objects become Chroma records and back: one place for the record schema."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core.domain import HistoryEntry, Item, UserHistory
from core.titles import shown_title

NO_SCENE = ""  # Chroma metadata cannot hold None


def item_document(item: Item) -> str:
    """The text that is embedded: what a reader would need to place the item."""
    parts = [shown_title(item)]
    if item.genres:
        parts.append("Genres: " + ", ".join(item.genres) + ".")
    if item.text:
        parts.append(item.text)
    return " ".join(parts)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def item_metadata(item: Item, document: str, popularity: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "title": item.title,
        "popularity": popularity,  # interactions in the dataset; breaks ties in title search
        "scene": item.scene or NO_SCENE,
        "genres": "|".join(item.genres),
        "text": item.text,
        "attributes": json.dumps(item.attributes, sort_keys=True),
        "doc_hash": digest(document),
    }
    if item.year is not None:
        metadata["year"] = item.year
    return metadata


def item_from_record(item_id: str, metadata: dict[str, Any]) -> Item:
    return Item(
        item_id=item_id,
        title=metadata["title"],
        scene=metadata.get("scene") or None,
        year=metadata.get("year"),
        genres=tuple(g for g in metadata.get("genres", "").split("|") if g),
        text=metadata.get("text", ""),
        attributes=json.loads(metadata.get("attributes", "{}")),
    )


def history_id(user_id: str, scene: str) -> str:
    return json.dumps([user_id, scene])


def history_document(entries: list[tuple[str, float, float | None]]) -> str:
    return json.dumps(entries)


def history_from_record(user_id: str, scene: str, document: str) -> UserHistory:
    entries = [HistoryEntry(item_id=i, timestamp=t, rating=r) for i, t, r in json.loads(document)]
    return UserHistory(user_id=user_id, scene=scene, entries=entries)
