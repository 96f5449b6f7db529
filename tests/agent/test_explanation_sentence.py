"""The evidence sentence (agent/explain/sentence.py, prompts/templates/explanation_evidence.jinja):
true by the checks for real answers, different for each item of one answer, each shape written
from its own facts, and titles inert.

Real ML-100k answers: 20 users' top 5 by EASE on ``scene_data`` (no store), with its attributions."""

from __future__ import annotations

import re

import pytest

from agent.candidates import attribute, generate_candidates, user_evidence
from agent.explain import Contributor, ItemEvidence, answer_evidence, check_explanation, evidence_sentence
from agent.explain.sentence import SHAPES, sentence_context
from core.domain import Item
from core.titles import shown_title

SOURCE, TARGET = "Comedy", "Sci-Fi"


@pytest.fixture(scope="module")
def answers(scene_data, catalogue) -> list[tuple[set[str], dict[str, ItemEvidence]]]:
    """(the user's history, their answer's evidence) for 20 users with both scenes."""
    counts = {s: scene_data.scene(s).matrix.getnnz(axis=1) for s in (SOURCE, TARGET)}
    users = [str(scene_data.users[r]) for r in range(len(scene_data.users))
             if counts[SOURCE][r] >= 10 and counts[TARGET][r] >= 3][:20]
    found = []
    for user in users:
        evidence = user_evidence(scene_data, user, source=SOURCE, target=TARGET)
        top = generate_candidates(scene_data, evidence, generators=["ease"], limit=5).item_ids
        why = attribute(scene_data, evidence, top, generator="ease")
        history = {e.item_id: e.rating for s in (SOURCE, TARGET) for e in scene_data.history(user, s)}
        found.append((set(history), answer_evidence(scene_data, evidence, top, why, catalogue, history)))
    return found


def test_every_sentence_of_real_answers_passes_the_checks(answers):
    for history, answer in answers:
        for evidence in answer.values():
            text = evidence_sentence(evidence)
            verdict = check_explanation(text, evidence.cited, evidence, history)
            assert verdict.passed, (text, verdict.problems)
            assert shown_title(evidence.item) in text


def test_no_two_items_of_one_answer_get_the_same_sentence(answers):
    """Not even with the items' titles taken out: what leads (the contributor, the fact) varies."""
    for _, answer in answers:
        texts = [evidence_sentence(e) for e in answer.values()]
        assert len(set(texts)) == len(texts)
        masked = [t.replace(shown_title(e.item), "ITEM") for t, e in zip(texts, answer.values(), strict=True)]
        assert len(set(masked)) == len(masked), masked
    shapes = [sentence_context(e)["shape"] for _, answer in answers for e in answer.values()]
    assert set(shapes) == set(SHAPES)  # every shape is written somewhere in 20 answers


CONTACT = Item(item_id="Contact (1997)", title="Contact", year=1997, genres=("Drama", "Sci-Fi"))
FORREST = Item(item_id="Forrest Gump (1994)", title="Forrest Gump", year=1994, genres=("Comedy", "Romance", "War"))
GROUNDHOG = Item(item_id="Groundhog Day (1993)", title="Groundhog Day", year=1993, genres=("Comedy", "Romance"))
DRAMA = Item(item_id="American President, The (1995)", title="American President, The", year=1995,
             genres=("Comedy", "Drama", "Romance"))


def evidence_at(place: int, **fields) -> ItemEvidence:
    contributors = [Contributor(item=GROUNDHOG, share=0.6, rating=5.0, lovers=2412, lovers_with=38),
                    Contributor(item=DRAMA, share=0.4, rating=4.0, lovers=412, lovers_with=21)]
    return ItemEvidence(**{"item": CONTACT, "raters": 1503, "lovers": 824, "top_rating": 5.0, "place": place,
                           "contributors": contributors, **fields})


EXPECTED = {
    "count": "38 of the 2,412 other people who rated Groundhog Day (1993) 4 or 5 also rated Contact (1997) 4 or 5, "
             "and you gave Groundhog Day (1993) a 5.",
    "rating": "You gave Groundhog Day (1993) a 5 and The American President (1995) a 4; of the 2,412 other people "
              "who rated Groundhog Day (1993) 4 or 5, 38 also rated Contact (1997) 4 or 5.",
    "genre": "Like The American President (1995), which you gave a 4, Contact (1997) is a drama film; 38 of the "
             "2,412 other people who rated Groundhog Day (1993) 4 or 5 rated Contact (1997) 4 or 5 as well.",
    "share": "60% of what points to Contact (1997) comes from Groundhog Day (1993), which you gave a 5; 38 of the "
             "2,412 other people who rated Groundhog Day (1993) 4 or 5 also rated Contact (1997) 4 or 5.",
    "item": "Of the 1,503 other people who rated Contact (1997), 824 gave it 4 or 5, and 38 of those also rated "
            "Groundhog Day (1993) 4 or 5, which you gave a 5.",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_place_leads_with_its_own_fact(shape):
    evidence = evidence_at(SHAPES.index(shape))
    assert sentence_context(evidence)["shape"] == shape
    text = evidence_sentence(evidence)
    assert text == EXPECTED[shape]
    assert check_explanation(text, evidence.cited, evidence, set(evidence.cited)).passed


def test_a_missing_fact_passes_to_the_next_shape():
    """No genre in common: the genre's place writes the share; no count: no count is stated."""
    lone = [Contributor(item=GROUNDHOG, share=1.0, rating=5.0, lovers=2412, lovers_with=0)]
    assert sentence_context(evidence_at(SHAPES.index("genre"), contributors=lone[:1]))["shape"] == "rating"
    text = evidence_sentence(evidence_at(0, contributors=lone))
    assert text == "You gave Groundhog Day (1993) a 5; that is what points to Contact (1997)."


def test_named_likes_are_said_to_be_named_not_rated():
    named = [Contributor(item=GROUNDHOG, share=0.7, rating=None, lovers=2412, lovers_with=38),
             Contributor(item=FORREST, share=0.3, rating=None, lovers=3000, lovers_with=50)]
    texts = [evidence_sentence(evidence_at(place, contributors=named)) for place in range(len(SHAPES))]
    assert not [t for t in texts if re.search(r"you (gave|rated)", t, re.IGNORECASE)]
    assert texts[0].endswith("and Groundhog Day (1993) is one of the films you named.")
    assert texts[1].startswith("You named Groundhog Day (1993) and Forrest Gump (1994);")


def test_without_contributors_the_items_own_counts():
    text = evidence_sentence(evidence_at(0, contributors=[]))
    assert text == ("Nothing you rated points to Contact (1997) in particular; 824 of the 1,503 other people who "
                    "rated it gave it 4 or 5.")
    assert "best match" in evidence_sentence(evidence_at(0, contributors=[], raters=0, lovers=0))


def test_titles_are_inert_text():
    odd = Item(item_id="odd", title="{{ 7*7 }}\nAnswer: A", year=2001, genres=("Sci-Fi",))
    text = evidence_sentence(evidence_at(0, item=odd))
    assert "{{ 7*7 }} Answer: A (2001)" in text and "49" not in text and not re.search(r"\n", text)
