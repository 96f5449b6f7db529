"""MovieLens-1M, the real scale: counts against an independent reading of the raw files, and a
Comedy -> Sci-Fi store built from it."""

import pytest

from core.data import load_dataset, split_by_genre
from core.data.scenes import split_summary
from evals.retrieval_sanity import genre_neighbour_share
from retrievers import Retriever, SceneStore, ingest
from tests.conftest import RawMovieLens

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml1m():
    return load_dataset("ml-1m")


@pytest.fixture(scope="module")
def raw1m():
    return RawMovieLens("ml-1m")


def test_counts(ml1m, raw1m):
    assert len(ml1m.interactions) == len(raw1m.ratings) == 1_000_209
    assert ml1m.interactions["user_id"].nunique() == 6_040
    assert ml1m.interactions["item_id"].nunique() == 3_706
    assert len(ml1m.genres) == 18
    assert (ml1m.items["text"] != "").sum() > 1_000  # TMDB overviews matched


def test_comedy_sci_fi_split(ml1m, raw1m):
    split = split_by_genre(ml1m, "Comedy", "Sci-Fi")
    item_scene, dropped = raw1m.split({"Comedy"}, {"Sci-Fi"})
    assert set(split.dropped) == dropped
    assert len(split.items_in("Comedy")) == sum(s == "source" for s in item_scene.values())
    assert split_summary(split, ml1m)["users_active_in_all"] == raw1m.active_in_both(item_scene) == 3_961


def test_store_at_ml1m_scale(tmp_path_factory, ml1m):
    split = split_by_genre(ml1m, "Comedy", "Sci-Fi")
    store = SceneStore(tmp_path_factory.mktemp("ml1m"), create=True)
    report = ingest(store, ml1m, split, progress=False, source="Comedy", target="Sci-Fi")
    assert report.items_embedded == len(ml1m.items) == 3_883
    retriever = Retriever(store)
    assert retriever.resolve("groundhog day").item_id == "Groundhog Day (1993)"
    history = retriever.history("1m_1", "Comedy")
    assert len(history) == len(
        set(ml1m.interactions.query("user_id == '1m_1'")["item_id"]) & set(split.items_in("Comedy"))
    )
    figure = genre_neighbour_share(retriever, "Sci-Fi", k=10, seeds=200)
    assert figure.share > 3 * figure.base_rate
