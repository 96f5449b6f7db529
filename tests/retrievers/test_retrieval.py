"""The retrieval API against the real ML-100k Comedy -> Sci-Fi store."""

import numpy as np
import pytest

from core.errors import NotFoundError
from evals.retrieval_sanity import genre_neighbour_share


def test_items_by_ids_keep_the_order_asked(retriever):
    items = retriever.items(["Star Wars (1977)", "Groundhog Day (1993)"])
    assert [i.item_id for i in items] == ["Star Wars (1977)", "Groundhog Day (1993)"]
    assert items[0].scene == "Sci-Fi" and items[1].scene == "Comedy"
    assert items[0].year == 1977 and "Sci-Fi" in items[0].genres
    assert items[0].text.startswith("Princess Leia")


def test_unknown_item_suggests_titles(retriever):
    with pytest.raises(NotFoundError) as info:
        retriever.items(["Groundhog Day"])
    assert "Groundhog Day (1993)" in info.value.suggestions


def test_history_is_chronological_and_matches_the_data(retriever, ml100k, ml100k_split):
    history = retriever.history("100k_1", "Comedy")
    stamps = [e.timestamp for e in history.entries]
    assert stamps == sorted(stamps)
    rated = ml100k.interactions.query("user_id == '100k_1'")
    expected = set(rated["item_id"]) & set(ml100k_split.items_in("Comedy"))
    assert set(history.item_ids) == expected and len(history) == len(expected)


def test_history_errors(retriever):
    with pytest.raises(NotFoundError, match="user"):
        retriever.history("1m_1", "Comedy")
    with pytest.raises(NotFoundError, match="scene") as info:
        retriever.history("100k_1", "Drama")
    assert "Comedy, Sci-Fi" in info.value.hint
    assert retriever.check_scene("sci-fi") == "Sci-Fi"  # case forgiven


def test_evidence_comes_from_the_users_source_history(retriever):
    history = set(retriever.history("100k_1", "Comedy").item_ids)
    evidence = retriever.evidence("100k_1", "Star Wars (1977)", scene="Comedy", k=5)
    assert len(evidence) == 5
    assert {e.item.item_id for e in evidence} <= history
    scores = [e.score for e in evidence]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("groundhog day", "Groundhog Day (1993)"),
        ("Grondhog Day", "Groundhog Day (1993)"),  # a typo
        ("the american president", "American President, The (1995)"),  # article moved
        ("terminator 2", "Terminator 2: Judgment Day (1991)"),
        ("Star Wars (1977)", "Star Wars (1977)"),
        # Same title, two films: the year asked decides, not popularity.
        ("Sabrina (1954)", "Sabrina (1954)"),
        ("Sabrina (1995)", "Sabrina (1995)"),
    ],
)
def test_free_text_title_search(retriever, query, expected):
    assert retriever.search(query, k=5)[0].item.item_id == expected
    assert retriever.resolve(query).item_id == expected


def test_search_by_meaning_and_within_a_scene(retriever):
    hits = retriever.search("a boy befriends a visitor from another planet", k=5)
    assert hits[0].item.item_id == "E.T. the Extra-Terrestrial (1982)"
    # A description that shares one word with a title is not taken for that title.
    hits = retriever.search("the crew of a spaceship hunted by a creature", k=5, scene="Sci-Fi")
    assert all(h.item.scene == "Sci-Fi" for h in hits)
    assert "Alien (1979)" in [h.item.item_id for h in hits]


def test_similar_excludes_the_item_and_respects_the_scene(retriever):
    neighbours = retriever.similar("Groundhog Day (1993)", scene="Sci-Fi", k=10)
    assert len(neighbours) == 10
    assert all(n.item.scene == "Sci-Fi" for n in neighbours)
    assert "Groundhog Day (1993)" not in [n.item.item_id for n in retriever.similar("Groundhog Day (1993)")]


def test_sci_fi_neighbours_are_mostly_sci_fi(retriever):
    """Sanity figure: the share of Sci-Fi among sci-fi items' top-10 neighbours in the whole
    catalogue, against the base rate (ML-100k: ~0.32 against 0.06)."""
    figure = genre_neighbour_share(retriever, "Sci-Fi", k=10, seeds=100)
    assert figure.base_rate == pytest.approx(100 / 1664, abs=0.01)
    assert figure.share > 3 * figure.base_rate


def test_index_recall_against_exact_search(retriever, rng):
    """Chroma's HNSW index against brute force over the same vectors: top-10 recall."""
    from retrievers import SceneStore, embed_texts

    records = SceneStore(retriever.store.path).items(retriever.dataset).get(include=["embeddings"])
    ids, vectors = records["ids"], np.asarray(records["embeddings"])
    queries = ["a space opera with jedi knights", "romantic comedy in new york", "killer robots",
               "a boy and his dog", "time travel paradox"]
    queried = list(embed_texts(queries)) + [vectors[i] for i in rng.choice(len(ids), 45, replace=False)]
    recalls = []
    for query in queried:
        exact = {ids[i] for i in np.argsort(-(vectors @ query))[:10]}
        found = retriever._query(query, scene=None, k=10)  # the index is under test
        recalls.append(len(exact & {s.item.item_id for s in found}) / 10)
    assert np.mean(recalls) >= 0.98
