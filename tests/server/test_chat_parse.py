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
from scenebridge.server.chat.parse import MessageParser, ReadingLimits
from scenebridge.server.chat.scenes import SceneNames
from scenebridge.server.chat.titles import TitleIndex
from scenebridge.server.limits import TooMuchToRead


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


def titles_only(dataset, split, scene_data) -> ChatCatalogue:
    """What ``ChatCatalogue.build`` makes of the store, made from the dataset: every item with its
    scene (as ingest stores it), each scene's items by users who saw them."""
    scenes = split.item_scene
    items = [item_from_row(i, row).model_copy(update={"scene": scenes.get(i)}) for i, row in dataset.items.iterrows()]
    in_scenes = {scene: dict(zip(scene_data.scene(scene).items.tolist(), scene_data.scene(scene).popularity.tolist(),
                                 strict=True)) for scene in split.names}
    popular = {scene: sorted(counts, key=lambda i: (-counts[i], i)) for scene, counts in in_scenes.items()}
    retriever = TitlesOnly(items, dataset.interactions["item_id"].value_counts().to_dict(),
                           StoreInfo(scenes=split.names, source="Comedy", target="Sci-Fi"))
    index = TitleIndex.build(items, {i: n for counts in in_scenes.values() for i, n in counts.items()})
    names = SceneNames(retriever.scenes)
    return ChatCatalogue(retriever=retriever, items={i.item_id: i for i in items}, popular=popular, index=index,
                         scenes=names, parser=MessageParser(index, names, items, retriever.resolve))


@pytest.fixture(scope="module")
def catalogue(ml100k, ml100k_split, scene_data) -> ChatCatalogue:
    return titles_only(ml100k, ml100k_split, scene_data)


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
    # Counts before a scene's name, and in words (never "one": "the first one").
    ("Name 4 sci-fi films", "k", 4), ("I liked Clerks. 3 sci-fi films?", "k", 3),
    ("Could you suggest five science fiction films?", "k", 5), ("List ten comedies", "k", 10),
    ("Clerks, especially the first one. Sci-fi?", "k", None), ("I am 30 - love Clerks", "k", None),
]
# What people say about what the picks should be (phrases beyond the labelled set's):
# (text, likes, excludes, scene, genres, avoided genres).
CONSTRAINTS = [
    ("I loved Annie Hall but hated Manhattan. What sci-fi?", ["Annie Hall (1977)"], ["Manhattan (1979)"],
     "Sci-Fi", [], []),  # the exact title, not every title holding the word
    ("Sci-fi but no horror please", [], [], "Sci-Fi", [], ["Horror"]),  # not "Amityville Horror"
    ("Sci-fi without War or Action", [], [], "Sci-Fi", [], ["War", "Action"]),  # not "The War"
    ("Comedies without Star Wars or Men in Black", [], ["Star Wars (1977)", "Men in Black (1997)"], "Comedy", [],
     []),
    ("I didn't like Star Trek. Comedies?", [], ["Star Trek: First Contact (1996)"], "Comedy", [], []),  # the one
    ("Funny sci-fi please", [], [], "Sci-Fi", ["Comedy"], []),
    ("Recommend a romantic comedy", [], [], "Comedy", ["Romance"], []),
    ("Sci-fi thrillers, nothing animated", [], [], "Sci-Fi", ["Thriller"], ["Animation"]),
    ("no scary stuff, no war films: sci-fi for kids", [], [], "Sci-Fi", ["Children's"], ["Horror", "War"]),
    ("anything but horror or thrillers", [], [], None, [], ["Horror", "Thriller"]),
    ("Sci-fi like Star Wars but less action-packed", ["Star Wars (1977)"], [], "Sci-Fi", [], ["Action"]),
    ("I'm into romantic comedies, what sci-fi would I enjoy?", [], [], "Sci-Fi", [], []),  # their tastes
    ("My favourite comedies are Clerks and Clueless, what sci-fi?", ["Clerks (1994)", "Clueless (1995)"], [],
     "Sci-Fi", [], []),  # a scene named for the tastes is no genre
    ("I liked the 1954 Sabrina", ["Sabrina (1954)"], [], None, [], []),  # a year before the title
    ("Liked The Nutty Professor with Eddie Murphy. Sci-fi?", ["Nutty Professor, The (1996)"], [], "Sci-Fi", [], []),
    ("Not Star Wars, I've seen it. Anything else in sci-fi?", [], ["Star Wars (1977)"], "Sci-Fi", [], []),
    ("Sci-fi other than Star Wars and Contact", [], ["Star Wars (1977)", "Contact (1997)"], "Sci-Fi", [], []),
    ("I liked Clerks. I want sci-fi that isn't scary.", ["Clerks (1994)"], [], "Sci-Fi", [], ["Horror"]),
    ("Clerks isn't bad. Sci-fi?", ["Clerks (1994)"], [], "Sci-Fi", [], []),  # "isn't" negates genre words only
]
YEARS = [
    ("Sci-fi from the seventies", 1970, 1979), ("anything from the late 80s", 1980, 1989),
    ("Sci-fi between 1980 and 1990?", 1980, 1990), ("from 1970 to 1985 please", 1970, 1985),
    ("sci-fi, 1960-1969", 1960, 1969), ("before 1980, but between nothing", None, 1979),
    # A negated bound turns over, and leaves no title out.
    ("What comedies would I enjoy? Nothing from before 1980.", 1980, None), ("Not before 1980", 1980, None),
    ("No films older than 1980 please", 1980, None), ("Sci-fi, but nothing after 1995!", None, 1995),
    ("我喜欢《Clerks》，有没有八十年代的科幻电影？", 1980, 1989), ("90年代的喜剧", 1990, 1999),
]
TOPICS = [
    ("I loved Groundhog Day. Any sci-fi about time travel?", ["time travel"]),
    ("Something thoughtful, not action-heavy.", ["thoughtful"]),
    ("Something like Star Wars but darker, in sci-fi.", ["darker"]),
    ("Sci-fi films about artificial intelligence, please", ["artificial intelligence"]),
    ("Comedies with spaceships?", ["spaceships"]),
    # Requests that say nothing beyond titles, scenes, genres, years and counts: no topic.
    ("I loved Groundhog Day and Annie Hall. Any sci-fi for me?", []),
    ("Big fan of Star Wars. Give me 5 comedies please", []),
    ("top 3 science fiction picks for user 100k_42", []),
    ("Not Star Wars, I've seen it. What else?", []),
    ("actually, sci-fi instead", []),
    ("Clerks fan here. 90's sci-fi, no horror?", []),
    ("我喜欢《Clerks》，推荐一些科幻片", []),  # a topic in another language would find nothing
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


@pytest.mark.parametrize(("text", "likes", "excludes", "scene", "genres", "avoided"), CONSTRAINTS)
def test_genres_and_negations(catalogue, text, likes, excludes, scene, genres, avoided):
    intent = parse(catalogue, text)
    assert [i.item_id for i in intent.likes] == likes
    assert [i.item_id for i in intent.excludes] == excludes
    assert (intent.scene, intent.genres, intent.avoid_genres) == (scene, genres, avoided)


@pytest.mark.parametrize(("text", "low", "high"), YEARS)
def test_years_in_words(catalogue, text, low, high):
    intent = parse(catalogue, text)
    assert (intent.min_year, intent.max_year) == (low, high)


@pytest.mark.parametrize(("text", "topic"), TOPICS)
def test_the_topic_is_what_is_left(catalogue, text, topic):
    assert parse(catalogue, text).topic == topic


def test_genre_words_cost_no_title_search(catalogue):
    """Negated genres are not matched against the titles (nor counted as such), a name after a
    title is counted as a title before it is looked up."""
    limits = ReadingLimits(exclusions=1, titles=1)
    intent = catalogue.parser.parse("no horror, no war, nothing animated and no Star Wars", limits)
    assert intent.avoid_genres == ["Horror", "War", "Animation"] and limits.used_exclusions == 1
    with pytest.raises(TooMuchToRead, match="more than 1 titles"):
        catalogue.parser.parse("Liked The Nutty Professor with Eddie Murphy", ReadingLimits(titles=1))


def test_genres_and_the_topic_add_up_over_turns_until_the_scene_changes(catalogue):
    seen = understand([Turn("user", "Funny sci-fi about time travel, no horror"), Turn("assistant", ANSWER),
                       Turn("user", "something romantic, and no war please")], catalogue)
    assert seen.genres == ["Comedy", "Romance"] and seen.avoid_genres == ["Horror", "War"]
    assert seen.topic == ["time travel"]
    changed = understand([Turn("user", "Funny sci-fi about time travel, no horror"), Turn("assistant", ANSWER),
                          Turn("user", "actually, comedies instead")], catalogue)
    assert changed.genres == [] and changed.topic == [] and "Horror" in changed.avoid_genres
    undone = understand([Turn("user", "Funny sci-fi"), Turn("assistant", ANSWER), Turn("user", "no comedy")],
                        catalogue)
    assert undone.genres == [] and undone.avoid_genres == ["Comedy"]


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
    texts += [c[0] for c in CONSTRAINTS] + [t for t, _, _ in YEARS] + [t for t, _ in TOPICS]
    texts += ["I loved zzqx vrrmbl", "I liked Star Warz and Grondhog", "Terminator"]  # unknowns and suggestions
    for text in texts:
        assert built.parser.parse(text) == catalogue.parser.parse(text), text
    for turns in CONVERSATIONS:
        assert understand(turns, built) == understand(turns, catalogue)
