import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import split_by_genre
from core.data.scenes import split_summary, user_counts
from core.domain import Scene
from core.errors import DataError, NotFoundError


def test_split_matches_an_independent_count(ml100k, ml100k_split, raw100k):
    item_scene, dropped = raw100k.split({"Comedy"}, {"Sci-Fi"})
    assert set(ml100k_split.dropped) == dropped
    assert set(ml100k_split.items_in("Comedy")) == {i for i, s in item_scene.items() if s == "source"}
    assert set(ml100k_split.items_in("Sci-Fi")) == {i for i, s in item_scene.items() if s == "target"}
    summary = split_summary(ml100k_split, ml100k)
    assert summary["users_active_in_all"] == raw100k.active_in_both(item_scene) == 588


def test_several_genres_per_scene(ml100k, raw100k):
    split = split_by_genre(ml100k, "Children's,Animation", "Horror,Thriller")
    item_scene, dropped = raw100k.split({"Children's", "Animation"}, {"Horror", "Thriller"})
    assert split.names == ["Children's,Animation", "Horror,Thriller"]
    assert len(split.item_scene) == len(item_scene)
    assert set(split.dropped) == dropped


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_split_is_disjoint_and_complete(ml100k, data):
    genres = ml100k.genres
    source = data.draw(st.sets(st.sampled_from(genres), min_size=1, max_size=3))
    target = data.draw(st.sets(st.sampled_from([g for g in genres if g not in source]), min_size=1, max_size=3))
    split = split_by_genre(ml100k, Scene(name="S", genres=tuple(sorted(source))),
                           Scene(name="T", genres=tuple(sorted(target))))
    assert not set(split.items_in("S")) & set(split.items_in("T"))
    touching = {i for i, gs in ml100k.items["genres"].items() if set(gs) & (source | target)}
    assert set(split.item_scene.index) | set(split.dropped) == touching
    counts = user_counts(split, ml100k)
    assert counts.to_numpy().sum() == len(split.interactions(ml100k))


def test_unknown_genre_suggests_the_closest(ml100k):
    with pytest.raises(NotFoundError) as info:
        split_by_genre(ml100k, "Comedy", "SciFi")
    assert info.value.kind == "genre" and "Sci-Fi" in info.value.hint


def test_scenes_must_not_share_a_genre(ml100k):
    with pytest.raises(DataError, match="share the genres"):
        split_by_genre(ml100k, "Comedy,Drama", "Drama")


def test_empty_scene_spec_is_refused():
    with pytest.raises(ValueError, match="empty scene"):
        Scene.parse(" , ")
