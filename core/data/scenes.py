"""Scenes: split a catalogue into domains.

For MovieLens a scene is a set of genres; a movie belongs to a scene when it has any of them,
and a movie that falls in two scenes of a split is dropped (it would leak the target scene into
the source evidence). Imported data names each item's scene directly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from core.data.dataset import Dataset
from core.domain import Scene
from core.errors import DataError, NotFoundError


@dataclass(frozen=True)
class SceneMap:
    """Which scene each item belongs to; items in no scene are absent from ``item_scene``."""

    dataset: str
    scenes: tuple[Scene, ...]
    item_scene: pd.Series  # item_id -> scene name
    dropped: tuple[str, ...] = ()  # items that fell in more than one scene

    @property
    def names(self) -> list[str]:
        return [scene.name for scene in self.scenes]

    def key(self) -> str:
        """A stable name for this split, recorded in the store."""
        return " | ".join(self.names)

    def items_in(self, scene: str) -> pd.Index:
        return self.item_scene.index[self.item_scene == scene]

    def interactions(self, dataset: Dataset) -> pd.DataFrame:
        """The dataset's interactions with the scene of their item, for items in a scene."""
        frame = dataset.interactions
        scene = frame["item_id"].map(self.item_scene)
        return frame.assign(scene=scene)[scene.notna()]


def _check_genres(dataset: Dataset, scene: Scene) -> None:
    known = dataset.genres
    for genre in scene.genres:
        if genre not in known:
            raise NotFoundError(
                "genre",
                genre,
                suggestions=difflib.get_close_matches(genre, known, n=3, cutoff=0.5),
                hint=None if difflib.get_close_matches(genre, known, n=1, cutoff=0.5)
                else f"genres of {dataset.name}: {', '.join(known)}",
            )


def split_by_genre(dataset: Dataset, source: str | Scene, target: str | Scene) -> SceneMap:
    """Split a MovieLens catalogue into a source and a target scene by genre."""
    source = source if isinstance(source, Scene) else Scene.parse(source)
    target = target if isinstance(target, Scene) else Scene.parse(target)
    for scene in (source, target):
        _check_genres(dataset, scene)
    shared = set(source.genres) & set(target.genres)
    if shared:
        raise DataError(
            f"source and target scenes share the genres {sorted(shared)}",
            hint="a scene pair must be disjoint; name each genre in one scene only",
        )
    genres = dataset.items["genres"]
    in_source = genres.map(lambda gs: any(g in source.genres for g in gs))
    in_target = genres.map(lambda gs: any(g in target.genres for g in gs))
    item_scene = pd.concat(
        [
            pd.Series(source.name, index=dataset.items.index[in_source & ~in_target]),
            pd.Series(target.name, index=dataset.items.index[in_target & ~in_source]),
        ]
    )
    item_scene.index.name = "item_id"
    dropped = tuple(dataset.items.index[in_source & in_target])
    return SceneMap(dataset.name, (source, target), item_scene, dropped)


def scenes_from_column(dataset: Dataset) -> SceneMap:
    """Imported data: the ``scene`` column names each item's scene."""
    item_scene = dataset.items["scene"].dropna()
    if item_scene.empty:
        raise DataError(f"no item of {dataset.name} names a scene", hint="fill the 'scene' column")
    names = sorted(item_scene.unique())
    return SceneMap(dataset.name, tuple(Scene(name=n) for n in names), item_scene)


def user_counts(scene_map: SceneMap, dataset: Dataset) -> pd.DataFrame:
    """Ratings per user and scene (a users x scenes frame)."""
    frame = scene_map.interactions(dataset)
    return frame.groupby(["user_id", "scene"]).size().unstack(fill_value=0)


def scene_overview(dataset: Dataset, *, min_ratings: int = 5, top_pairs: int = 10) -> dict:
    """Per-genre counts and the genre pairs with the most users active in both.

    A user is active in a genre with at least ``min_ratings`` ratings there; pairs are counted
    as ``split_by_genre`` would build them (movies with both genres dropped).
    """
    items = dataset.items
    exploded = items["genres"].explode().rename("genre")
    ratings = dataset.interactions.merge(exploded, left_on="item_id", right_index=True)
    genres = []
    for genre in dataset.genres:
        genre_ratings = ratings[ratings["genre"] == genre]
        genres.append(
            {
                "genre": genre,
                "items": int((exploded == genre).sum()),
                "ratings": len(genre_ratings),
                "users": int(genre_ratings["user_id"].nunique()),
            }
        )
    # Users x genres rating counts, excluding a pair's shared movies when counting that pair.
    per_genre = ratings.groupby(["user_id", "genre"]).size().unstack(fill_value=0)
    multi = items["genres"].map(frozenset)
    pairs = []
    for a, b in combinations(dataset.genres, 2):
        both = multi.index[multi.map(lambda gs, a=a, b=b: a in gs and b in gs)]
        if len(both):
            shared = ratings[ratings["item_id"].isin(both)]
            shared_counts = shared.groupby(["user_id", "genre"]).size().unstack(fill_value=0)
            counts = per_genre[[a, b]].sub(shared_counts.reindex(columns=[a, b]), fill_value=0)
        else:
            counts = per_genre[[a, b]]
        users = int(((counts[a] >= min_ratings) & (counts[b] >= min_ratings)).sum())
        pairs.append({"source": a, "target": b, "users_in_both": users})
    pairs.sort(key=lambda row: -row["users_in_both"])
    return {
        "dataset": dataset.name,
        "items": len(items),
        "users": int(dataset.interactions["user_id"].nunique()),
        "ratings": len(dataset.interactions),
        "min_ratings": min_ratings,
        "genres": genres,
        "top_pairs": pairs[:top_pairs],
    }


def split_summary(scene_map: SceneMap, dataset: Dataset, *, min_ratings: int = 5) -> dict:
    """Counts of one split: items and users per scene, and users active in every scene."""
    counts = user_counts(scene_map, dataset)
    scenes = []
    for scene in scene_map.names:
        column = counts[scene] if scene in counts else pd.Series(dtype=int)
        scenes.append(
            {
                "scene": scene,
                "items": int(len(scene_map.items_in(scene))),
                "ratings": int(column.sum()),
                "users": int((column > 0).sum()),
                "active_users": int((column >= min_ratings).sum()),
            }
        )
    active = (counts.reindex(columns=scene_map.names, fill_value=0) >= min_ratings).all(axis=1)
    return {
        "dataset": dataset.name,
        "scenes": scenes,
        "dropped_items": len(scene_map.dropped),
        "users_active_in_all": int(active.sum()),
        "min_ratings": min_ratings,
    }
