"""Reading chat messages against the real ML-100k store: titles, scenes, refinements, and no
titles found in ordinary words."""

from __future__ import annotations

import pytest

from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.conversation import Turn, understand

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalogue(retriever):
    return ChatCatalogue.build(retriever)


def parse(catalogue, text):
    return catalogue.parser.parse(text)


def liked(catalogue, text):
    return [i.item_id for i in parse(catalogue, text).likes]


@pytest.mark.parametrize(("text", "likes", "scene"), [
    ("I loved Groundhog Day and Annie Hall — what sci-fi should I watch?",
     ["Groundhog Day (1993)", "Annie Hall (1977)"], "Sci-Fi"),
    ("i loved groundhog day and annie hall, what scifi should i watch", ["Groundhog Day (1993)", "Annie Hall (1977)"],
     "Sci-Fi"),
    ("Any science fiction for a fan of The American President?", ["American President, The (1995)"], "Sci-Fi"),
    ("I'm a big fan of alien. Any comedies?", ["Alien (1979)"], "Comedy"),  # lower case: the loose lookup
    ("I loved grondhog day", ["Groundhog Day (1993)"], None),  # a typo after "loved"
    ('I liked "Grondhog Day" a lot', ["Groundhog Day (1993)"], None),  # quoted: loose
    ("Terminator 2 and Se7en, please", ["Terminator 2: Judgment Day (1991)", "Seven (Se7en) (1995)"], None),
    ("Sabrina (1954) was lovely", ["Sabrina (1954)"], None),  # the year picks among remakes
    ("What science fiction would a comedy fan like?", [], "Sci-Fi"),
])
def test_titles_and_scene(catalogue, text, likes, scene):
    intent = parse(catalogue, text)
    assert [i.item_id for i in intent.likes] == likes
    assert intent.scene == scene


@pytest.mark.parametrize("text", [
    "I like it like that",  # a title made of common words, written as prose
    "Hello! What should I watch tonight? Something to make me laugh",
    "speed and heat matter less than a good story",  # one-word titles in lower case
    "Nowhere near as good as I hoped",  # a common word opening a sentence ("Nowhere" is a title)
    "I have no idea, I'm not sure",
])
def test_ordinary_words_are_no_titles(catalogue, text):
    intent = parse(catalogue, text)
    assert intent.likes == [] and intent.excludes == [] and intent.unmatched_excludes == []


def test_negations_leave_titles_out_instead_of_liking_them(catalogue):
    intent = parse(catalogue, "I didn't like Alien, but I loved Brazil. No Star Trek please")
    assert [i.item_id for i in intent.likes] == ["Brazil (1985)"]
    excluded = {i.item_id for i in intent.excludes}
    assert {"Alien (1979)", "Star Trek: First Contact (1996)", "Star Trek: Generations (1994)"} <= excluded
    assert "Aliens (1986)" not in excluded


@pytest.mark.parametrize(("text", "field", "value"), [
    ("something older", "older", True), ("newer please", "newer", True), ("more recent ones", "newer", True),
    ("more", "more", True), ("more recent ones", "more", False), ("give me 3 films before 1980", "max_year", 1979),
    ("give me 3 films before 1980", "k", 3), ("anything from the 80s", "min_year", 1980),
    ("since 1990", "min_year", 1990), ("recommend for user 100k_1", "user", "100k_1"),
])
def test_refinements(catalogue, text, field, value):
    assert getattr(parse(catalogue, text), field) == value


def test_a_conversation_keeps_likes_and_reads_earlier_answers(catalogue):
    answer = "Here are 2 picks:\n\n1. **Star Wars** (1977)\n   - Why: ...\n2. **Contact** (1997)\n"
    seen = understand([
        Turn("system", "You are helpful."),
        Turn("user", "I loved Groundhog Day, sci-fi please"),
        Turn("assistant", answer),
        Turn("user", "I also liked Annie Hall. Something older"),
    ], catalogue)
    assert [i.item_id for i in seen.likes] == ["Groundhog Day (1993)", "Annie Hall (1977)"]
    assert [i.item_id for i in seen.previous_answer] == ["Star Wars (1977)", "Contact (1997)"]
    assert seen.max_year == 1986 and seen.min_year is None  # median of 1977 and 1997 is 1987
    assert seen.scene is None and seen.earlier_scene == "Sci-Fi"

    more = understand([Turn("user", "I loved Groundhog Day"), Turn("assistant", answer), Turn("user", "more")],
                      catalogue)
    assert more.shown == ["Star Wars (1977)", "Contact (1997)"]
    switched = understand([Turn("user", "I loved Alien. Comedies from before 1980?"), Turn("assistant", answer),
                           Turn("user", "what about sci-fi")], catalogue)
    assert switched.scene == "Sci-Fi" and switched.max_year is None  # the years were about comedies
