"""The checks of an explanation (agent/explain/checks.py): true sentences pass, planted false
claims are caught (a wrong count, a genre the item lacks, a year off by one, a cited id not in the
history, a rating the person did not give), and titles are names, not claims.

The items are ML-1M's own facts (Contact (1997): Drama, Sci-Fi; Groundhog Day (1993): Comedy,
Romance; Annie Hall (1977): Comedy, Romance); the counts are made up for the test."""

from __future__ import annotations

import pytest

from agent.explain import Contributor, ItemEvidence, check_explanation
from core.domain import Item

CONTACT = Item(item_id="Contact (1997)", title="Contact", year=1997, genres=("Drama", "Sci-Fi"), scene="Sci-Fi")
GROUNDHOG = Item(item_id="Groundhog Day (1993)", title="Groundhog Day", year=1993, genres=("Comedy", "Romance"),
                 scene="Comedy")
ANNIE = Item(item_id="Annie Hall (1977)", title="Annie Hall", year=1977, genres=("Comedy", "Romance"), scene="Comedy")
HISTORY = {GROUNDHOG.item_id, ANNIE.item_id, "Big (1988)"}


@pytest.fixture
def evidence() -> ItemEvidence:
    return ItemEvidence(item=CONTACT, raters=1503, lovers=824, top_rating=5.0, contributors=[
        Contributor(item=GROUNDHOG, share=0.62, rating=5.0, lovers=1661, lovers_with=412),
        Contributor(item=ANNIE, share=0.38, rating=4.0, lovers=1061, lovers_with=38),
    ])


def verdict(text, evidence, cited=(GROUNDHOG.item_id,), history=HISTORY):
    return check_explanation(text, list(cited), evidence, history)


TRUE = [
    "412 of the 1,661 other people who rated Groundhog Day (1993) 4 or 5 also rated Contact (1997) 4 or 5, "
    "and you gave Groundhog Day (1993) a 5.",
    "Since you loved Groundhog Day, Contact should suit you: a thoughtful drama from 1997.",
    "You gave Annie Hall a 4; 38 of the 1,061 other people who rated it 4 or 5 also loved Contact.",
    "Groundhog Day, a comedy you gave a 5, points to Contact (62% of what points to it).",
    "Of the 1,503 other people who rated Contact (1997), 824 gave it 4 or 5; 412 of them loved Groundhog Day.",
    "Like Groundhog Day (1993), which you gave a 5, Contact (1997) is a film from the 1990s.",
]


@pytest.mark.parametrize("text", TRUE)
def test_true_sentences_pass(evidence, text):
    result = verdict(text, evidence)
    assert result.passed, result.problems
    assert result.problems == []


PLANTED = {
    "a wrong count": ("413 of the 1,661 other people who rated Groundhog Day 4 or 5 also rated Contact 4 or 5.",
                      "numbers_valid", "states 413"),
    "a count of other people made up": ("Contact is loved by 90% of the people who loved Groundhog Day.",
                                        "numbers_valid", "states 90"),
    "a number in words": ("Seven of your favourite comedies point to Contact.", "numbers_valid", "'Seven'"),
    "a genre the item lacks": ("Since you loved Groundhog Day, you will like Contact, a western.",
                               "facts_valid", "Western of Contact"),
    "the evidence's genre said of the item": ("Contact is a comedy, like Groundhog Day.", "facts_valid",
                                              "Comedy of Contact"),
    "a year off by one": ("Since you loved Groundhog Day, try Contact (1998).", "facts_valid",
                          "Contact is from 1998; it is from 1997"),
    "a free year off by one": ("Contact came out in 1998, five years after Groundhog Day.", "facts_valid",
                               "1998 of Contact"),
    "the wrong decade": ("Contact is a 1980s film you may like after Groundhog Day.", "facts_valid",
                         "the 1980s of Contact"),
    "the evidence's year off by one": ("You loved Groundhog Day (1994); Contact is next.", "facts_valid",
                                       "Groundhog Day is from 1994"),
    "a rating the person did not give": ("You gave Groundhog Day a 4, and Contact has its warmth.",
                                         "numbers_valid", "you rated Groundhog Day 4; you rated it 5"),
    "a rating after the title": ("Annie Hall, which you rated 5, points to Contact.", "numbers_valid",
                                 "you rated Annie Hall 5; you rated it 4"),
}


@pytest.mark.parametrize(("text", "flag", "problem"), PLANTED.values(), ids=PLANTED.keys())
def test_planted_false_claims_are_caught(evidence, text, flag, problem):
    result = verdict(text, evidence)
    assert not result.passed and not getattr(result, flag)
    assert any(problem in p for p in result.problems), result.problems


UNSTATED = {
    "Because you enjoyed the comedies you named, this film should suit your taste as well.":
        ["does not name Contact", "names none of the person's films it rests on"],
    "Contact should suit your taste: a drama with room to think.":
        ["names none of the person's films it rests on"],
    "People who loved Groundhog Day, a comedy, will like this film too.": ["does not name Contact"],
}


@pytest.mark.parametrize("text", UNSTATED)
def test_a_true_sentence_must_name_the_item_and_its_reason(evidence, text):
    """Naming the item keeps the sentences of one answer apart; naming one of the person's films
    it rests on is the reason. With no title written, a genre must be true of the item or of its
    evidence ("the comedies you named")."""
    result = verdict(text, evidence)
    assert result.citations_valid and result.numbers_valid and result.facts_valid
    assert not result.reason_stated and result.problems == UNSTATED[text]


def test_a_cited_id_not_in_the_history_is_caught(evidence):
    text = "Since you loved Groundhog Day, Contact should suit you well."
    result = verdict(text, evidence, cited=[GROUNDHOG.item_id, "Made Up Film (2031)"])
    assert not result.passed and not result.citations_valid and result.numbers_valid and result.facts_valid
    assert result.problems == ["cites 'Made Up Film (2031)', which is not in the person's history"]
    assert verdict(text, evidence, cited=[GROUNDHOG.item_id, "Big (1988)"]).passed  # in the history, if not cited


def test_a_named_like_has_no_rating(evidence):
    named = evidence.model_copy(update={"contributors": [
        c.model_copy(update={"rating": None}) for c in evidence.contributors]})
    assert verdict("You named Groundhog Day (1993); Contact (1997) follows from it.", named).passed
    result = verdict("You gave Groundhog Day a 5, so Contact should suit you.", named)
    assert not result.passed and "you named it, with no rating" in result.problems[0]


def test_titles_are_names_not_claims():
    """Genre words, years and numbers inside titles state nothing about the item."""
    odyssey = Item(item_id="2001: A Space Odyssey (1968)", title="2001: A Space Odyssey", year=1968,
                   genres=("Drama", "Mystery", "Sci-Fi", "Thriller"))
    men = Item(item_id="Mystery Men (1999)", title="Mystery Men", year=1999, genres=("Action", "Adventure", "Comedy"))
    war = Item(item_id="Monty Python and the Holy Grail (1974)", title="Monty Python and the Holy Grail", year=1974,
               genres=("Comedy",))
    evidence = ItemEvidence(item=odyssey, raters=10, lovers=5, top_rating=5.0, contributors=[
        Contributor(item=men, share=0.5, rating=4.0, lovers=7, lovers_with=3),
        Contributor(item=war, share=0.5, rating=5.0, lovers=9, lovers_with=2)])
    text = ("Since you gave Mystery Men (1999) a 4 and Monty Python and the Holy Grail a 5, "
            "2001: A Space Odyssey (1968) is next.")
    result = check_explanation(text, [men.item_id], evidence, {men.item_id, war.item_id})
    assert result.passed, result.problems


def test_a_genre_of_an_item_named_near_it_is_said_of_that_item(evidence):
    assert verdict("After Groundhog Day, a comedy, you may like Contact, a drama.", evidence).passed
    result = verdict("After Groundhog Day, a drama, you may like Contact.", evidence)
    assert not result.passed and "Drama of Groundhog Day" in result.problems[0]


def test_counts_of_a_thousand_or_more_need_their_comma(evidence):
    """Without it a count from 1800 to 2099 reads as a year (the evidence sentence writes the comma)."""
    big = evidence.model_copy(update={"raters": 1850})
    text = "Of the {} other people who rated Contact, 824 gave it 4 or 5, as you did Groundhog Day."
    assert verdict(text.format("1,850"), big).passed
    assert not verdict(text.format("1850"), big).passed
