import pytest

from core.data import load_dataset
from core.errors import NotFoundError


def test_ids_are_the_datasets_own(ml100k):
    assert ml100k.items.loc["Toy Story (1995)", "title"] == "Toy Story"
    assert ml100k.items.loc["Toy Story (1995)", "year"] == 1995
    assert "100k_196" in set(ml100k.interactions["user_id"])
    first = ml100k.interactions.query("user_id == '100k_196' and item_id == 'Kolya (1996)'")
    assert first["rating"].tolist() == [3.0]


def test_counts_match_the_raw_files(ml100k, raw100k):
    assert set(ml100k.items.index) == set(raw100k.genres)
    pairs = {(u, i) for u, i, _, _ in raw100k.ratings}
    # ML-100k lists a few movies twice under one title: one row per (user, item) remains.
    assert len(ml100k.interactions) == len(pairs)
    assert ml100k.interactions["user_id"].nunique() == 943


def test_duplicate_ratings_keep_the_latest(ml100k, raw100k):
    latest = {}
    for user, item, rating, ts in sorted(raw100k.ratings, key=lambda r: r[3]):
        latest[(user, item)] = rating
    frame = ml100k.interactions.set_index(["user_id", "item_id"])["rating"]
    sample = list(latest.items())[::997]
    assert all(frame.loc[key] == rating for key, rating in sample)


def test_overviews_enrich_some_items(ml100k):
    assert ml100k.items.loc["Star Wars (1977)", "text"].startswith("Princess Leia")
    assert (ml100k.items["text"] != "").sum() > 300


def test_unknown_dataset_names_the_packaged_ones():
    with pytest.raises(NotFoundError, match="ml-10m") as info:
        load_dataset("ml-10m")
    assert "ml-1m" in info.value.hint
