"""Reading chat messages against the real ML-100k catalogue: titles, scenes, refinements, and
no titles found in ordinary words.

The parser needs titles, scenes and popularity, not embeddings, so the catalogue is made from the
dataset (``TitlesOnly`` stands in for the store); the store tier checks that it reads every message
here exactly as the catalogue of the real store does."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz, process

from core.data.dataset import item_from_row
from core.domain import Item, ScoredItem
from core.errors import NotFoundError, ScenebridgeError
from core.settings import get_settings
from core.titles import LOOKALIKE, normalize_title, title_similarity
from retrievers import StoreInfo
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.conversation import Turn, understand
from scenebridge.server.chat.parse import MessageParser
from scenebridge.server.chat.scenes import SceneNames
from scenebridge.server.chat.titles import TitleIndex


class TitlesOnly:
    """The part of ``Retriever`` the chat layer calls (``scenes``, ``info``, ``search``,
    ``resolve``) over the dataset's items, without a store: ``search`` is the title half of
    ``Retriever.search``. Its meaning half (MiniLM) cannot change what the parser reads: a typed
    title is taken only at ``title_match`` similarity, which a meaning match never reaches, and
    the parser keeps only lookalike suggestions."""

    def __init__(self, items: list[Item], popularity: dict[str, int], info: StoreInfo):
        self.info, self.scenes, self._items = info, info.scenes, items
        self._titles = [normalize_title(i.title) for i in items]
        self._popularity = [popularity.get(i.item_id, 0) for i in items]

    def search(self, text: str, *, k: int = 10, scene: str | None = None) -> list[ScoredItem]:
        query = normalize_title(text)
        if not query:
            raise ScenebridgeError("empty search text", param="query")
        choices = {n: t for n, t in enumerate(self._titles) if scene is None or self._items[n].scene == scene}
        hits = process.extract(query, choices, scorer=title_similarity, limit=max(k, 50), score_cutoff=LOOKALIKE)
        hits.sort(key=lambda hit: (hit[0] != query, -hit[1], -fuzz.ratio(query, hit[0]),
                                   -self._popularity[hit[2]]))
        return [ScoredItem(item=self._items[n], score=score / 100.0) for _, score, n in hits[:k]]

    def resolve(self, text: str, *, scene: str | None = None) -> Item:
        hits = self.search(text, k=5, scene=scene)
        if hits and hits[0].score >= get_settings().title_match / 100:
            return hits[0].item
        raise NotFoundError("item", text, suggestions=[h.item.item_id for h in hits[:3]])


@pytest.fixture(scope="module")
def catalogue(ml100k, ml100k_split, scene_data) -> ChatCatalogue:
    """What ``ChatCatalogue.build`` makes of the store, made from the dataset: every item with its
    scene (as ingest stores it), each scene's items by users who saw them."""
    scenes = ml100k_split.item_scene
    items = [item_from_row(i, row).model_copy(update={"scene": scenes.get(i)}) for i, row in ml100k.items.iterrows()]
    in_scenes = {scene: dict(zip(scene_data.scene(scene).items.tolist(), scene_data.scene(scene).popularity.tolist(),
                                 strict=True)) for scene in ml100k_split.names}
    popular = {scene: sorted(counts, key=lambda i: (-counts[i], i)) for scene, counts in in_scenes.items()}
    retriever = TitlesOnly(items, ml100k.interactions["item_id"].value_counts().to_dict(),
                           StoreInfo(scenes=ml100k_split.names, source="Comedy", target="Sci-Fi"))
    index = TitleIndex.build(items, {i: n for counts in in_scenes.values() for i, n in counts.items()})
    names = SceneNames(retriever.scenes)
    return ChatCatalogue(retriever=retriever, items={i.item_id: i for i in items}, popular=popular, index=index,
                         scenes=names, parser=MessageParser(index, names, items, retriever.resolve))


def parse(catalogue, text):
    return catalogue.parser.parse(text)


def liked(catalogue, text):
    return [i.item_id for i in parse(catalogue, text).likes]


TITLES_AND_SCENES = [
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
]
ORDINARY = [
    "I like it like that",  # a title made of common words, written as prose
    "Hello! What should I watch tonight? Something to make me laugh",
    "speed and heat matter less than a good story",  # one-word titles in lower case
    "Nowhere near as good as I hoped",  # a common word opening a sentence ("Nowhere" is a title)
    "I have no idea, I'm not sure",
]
NEGATED = "I didn't like Alien, but I loved Brazil. No Star Trek please"
REFINEMENTS = [
    ("something older", "older", True), ("newer please", "newer", True), ("more recent ones", "newer", True),
    ("more", "more", True), ("more recent ones", "more", False), ("give me 3 films before 1980", "max_year", 1979),
    ("give me 3 films before 1980", "k", 3), ("anything from the 80s", "min_year", 1980),
    ("since 1990", "min_year", 1990), ("recommend for user 100k_1", "user", "100k_1"),
]
ANSWER = "Here are 2 picks:\n\n1. **Star Wars** (1977)\n   - Why: ...\n2. **Contact** (1997)\n"
CONVERSATIONS = [
    [Turn("system", "You are helpful."), Turn("user", "I loved Groundhog Day, sci-fi please"),
     Turn("assistant", ANSWER), Turn("user", "I also liked Annie Hall. Something older")],
    [Turn("user", "I loved Groundhog Day"), Turn("assistant", ANSWER), Turn("user", "more")],
    [Turn("user", "I loved Alien. Comedies from before 1980?"), Turn("assistant", ANSWER),
     Turn("user", "what about sci-fi")],
]


@pytest.mark.parametrize(("text", "likes", "scene"), TITLES_AND_SCENES)
def test_titles_and_scene(catalogue, text, likes, scene):
    intent = parse(catalogue, text)
    assert [i.item_id for i in intent.likes] == likes
    assert intent.scene == scene


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_words_are_no_titles(catalogue, text):
    intent = parse(catalogue, text)
    assert intent.likes == [] and intent.excludes == [] and intent.unmatched_excludes == []


def test_negations_leave_titles_out_instead_of_liking_them(catalogue):
    intent = parse(catalogue, NEGATED)
    assert [i.item_id for i in intent.likes] == ["Brazil (1985)"]
    excluded = {i.item_id for i in intent.excludes}
    assert {"Alien (1979)", "Star Trek: First Contact (1996)", "Star Trek: Generations (1994)"} <= excluded
    assert "Aliens (1986)" not in excluded


@pytest.mark.parametrize(("text", "field", "value"), REFINEMENTS)
def test_refinements(catalogue, text, field, value):
    assert getattr(parse(catalogue, text), field) == value


def test_a_conversation_keeps_likes_and_reads_earlier_answers(catalogue):
    first, again, switching = CONVERSATIONS
    seen = understand(first, catalogue)
    assert [i.item_id for i in seen.likes] == ["Groundhog Day (1993)", "Annie Hall (1977)"]
    assert [i.item_id for i in seen.previous_answer] == ["Star Wars (1977)", "Contact (1997)"]
    assert seen.max_year == 1986 and seen.min_year is None  # median of 1977 and 1997 is 1987
    assert seen.scene is None and seen.earlier_scene == "Sci-Fi"

    more = understand(again, catalogue)
    assert more.shown == ["Star Wars (1977)", "Contact (1997)"]
    switched = understand(switching, catalogue)
    assert switched.scene == "Sci-Fi" and switched.max_year is None  # the years were about comedies


@pytest.mark.store
def test_the_stores_catalogue_reads_every_message_here_the_same(catalogue, retriever):
    """The store-free catalogue above is the store's own for the parser: the same items, scenes
    and popularity order, the same reading of every message and conversation of this module."""
    built = ChatCatalogue.build(retriever)
    assert built.items == catalogue.items and built.popular == catalogue.popular
    assert built.scenes.scenes == catalogue.scenes.scenes and built.index.keys == catalogue.index.keys
    assert built.default_target([]) == catalogue.default_target([])
    texts = [t for t, _, _ in TITLES_AND_SCENES] + ORDINARY + [NEGATED] + [t for t, _, _ in REFINEMENTS]
    texts += ["I loved zzqx vrrmbl", "I liked Star Warz and Grondhog", "Terminator"]  # unknowns and suggestions
    for text in texts:
        assert built.parser.parse(text) == catalogue.parser.parse(text), text
    for turns in CONVERSATIONS:
        assert understand(turns, built) == understand(turns, catalogue)
