"""One user message -> what it asks: liked titles, titles to leave out, a scene, refinements.

Order of work: quoted titles ("Grondhog Day" is matched loosely), negations ("not Star Wars",
"no Star Wars", "without Alien"), exact title matches on word n-grams (titles.py), scene names
(scenes.py), then, in what follows "loved / liked / fan of", the pieces no exact title covered
are looked up loosely (typos). What is left, with titles and negations masked, is read for
refinements: older / newer / a decade / before or after a year / more / a count.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from core.domain import Item
from core.errors import NotFoundError
from core.titles import LOOKALIKE, normalize_title, title_similarity, title_words
from scenebridge.server.chat.scenes import SceneMention, SceneNames
from scenebridge.server.chat.titles import Mention, TitleIndex
from scenebridge.server.chat.words import Token, informative, tokenize

QUOTED = re.compile(r"\"([^\"\n]{2,100})\"|“([^”\n]{2,100})”|(?<!\w)'([^'\n]{2,100})'(?!\w)|\*([^*\n]{2,100})\*")
NEGATION = re.compile(
    r"\b(?:not|no|without|except|excluding|exclude|skip|nothing like|anything but|"
    r"(?:do|did|does)\s*n[o']?t\s+(?:like|want|enjoy)|hated?|dislike[sd]?|can'?t stand)\s+"
    r"(?:any(?:thing)?\s+|more\s+|the\s+movies?\s+|the\s+films?\s+)?(?P<phrase>[^,.;!?\n]+?)"
    r"(?=\s*(?:[,.;!?\n—–]|\s-\s|\b(?:and|or|but|please|thanks|though)\b|$))",
    re.IGNORECASE)
LIKES = re.compile(
    r"\b(?:lov(?:e|ed|es)|lik(?:e|ed|es)|enjoy(?:ed|s)?|ador(?:e|ed|es)|fan of|into|"
    r"favou?rites?(?:\s+(?:is|are|was|were|include))?|such as|watched|seen)\b\s*"
    r"(?P<clause>(?:[^.;!?\n—–]|[.!?](?=\S)|(?:(?<=Dr)|(?<=Mr)|(?<=Ms)|(?<=St)|(?<=Jr)|(?<=vs))\.)+)",
    re.IGNORECASE)
CLAUSE_END = re.compile(r"\b(?:what|which|can|could|would|should|recommend|suggest|any|so|now|but|"
                        r"give|show|tell|please|do you|is there|are there)\b", re.IGNORECASE)
SEPARATOR = re.compile(r"\s*(?:,|&|/|\+|\band\b|\bor\b|\balso\b)\s*", re.IGNORECASE)
FILLER = re.compile(r"^(?:(?:the\s+)?(?:movies?|films?)\s+|watching\s+|seeing\s+|a\s+lot\s+of\s+|"
                    r"really\s+|also\s+|both\s+)+", re.IGNORECASE)
OLDER = re.compile(r"\b(?:older|earlier|classics?|vintage|less recent|(?<!years )old)\b", re.IGNORECASE)
NEWER = re.compile(r"\b(?:newer|more recent|recent|modern|latest|later ones|something new|new ones|less old)\b",
                   re.IGNORECASE)
MORE = re.compile(r"\b(?:more(?!\s+(?:recent|modern|than|older|newer))|next|others|what else|"
                  r"anything else|another)\b", re.IGNORECASE)
BEFORE = re.compile(r"\b(before|older than|earlier than|until|up to|pre)[\s-]+(?:the\s+year\s+)?(\d{4})\b",
                    re.IGNORECASE)
AFTER = re.compile(r"\b(after|newer than|later than|since|post)[\s-]+(?:the\s+year\s+)?(\d{4})\b", re.IGNORECASE)
DECADE = re.compile(r"(?<![\w'])'?(19|20)?([0-9])0'?s\b", re.IGNORECASE)
COUNT = re.compile(r"\b(?:top|give me|show me|list|recommend|suggest)\s+(\d{1,2})\b|"
                   r"\b(\d{1,2})\s+(?:more\s+)?(?:films?|movies?|titles?|picks?|recommendations?|"
                   r"suggestions?|options?|ideas?|more|others)\b", re.IGNORECASE)
USER = re.compile(r"\buser(?:\s+id)?\s*[:#]?\s*([A-Za-z0-9][\w.-]*\d[\w.-]*)", re.IGNORECASE)
ASKING = frozenset("what which some any recommend suggest watch want need show give good best other "
                   "more newer older looking find".split())
LIKING = frozenset("love loved loves like liked likes enjoy enjoyed enjoys adore adored fan into "
                   "favourite favorite favourites favorites watched seen".split())
FAN_AFTER = frozenset("fan fans lover lovers person people".split())


@dataclass(frozen=True)
class Unresolved:
    text: str
    suggestions: tuple[str, ...] = ()


@dataclass
class MessageIntent:
    likes: list[Item] = field(default_factory=list)
    liked_text: list[str] = field(default_factory=list)
    excludes: list[Item] = field(default_factory=list)
    unmatched_excludes: list[str] = field(default_factory=list)
    unknown: list[Unresolved] = field(default_factory=list)
    scene: str | None = None
    older: bool = False
    newer: bool = False
    more: bool = False
    min_year: int | None = None
    max_year: int | None = None
    k: int | None = None
    user: str | None = None


class MessageParser:
    def __init__(self, index: TitleIndex, scenes: SceneNames, items: list[Item],
                 resolve: Callable[[str], Item]):
        self.index = index
        self.scenes = scenes
        self.items = items  # the catalogue, for negated phrases that are parts of titles
        self.resolve = resolve  # loose title lookup: raises NotFoundError with suggestions

    def parse(self, text: str) -> MessageIntent:
        intent = MessageIntent()
        tokens = tokenize(text)
        negated = [(m.start("phrase"), m.end("phrase")) for m in NEGATION.finditer(text)]

        def within(regions, token: Token) -> bool:
            return any(start <= token.start < end for start, end in regions)

        mentions, taken = self._quoted(text, tokens, intent)
        for mention in self.index.find(text, tokens, skip=taken):
            mentions.append(mention)
            taken |= set(range(mention.first, mention.last + 1))
        for mention in mentions:
            if within(negated, tokens[mention.first]):
                intent.excludes.extend(mention.items)
            else:
                intent.likes.append(mention.item)
                intent.liked_text.append(mention.text)
        for start, end in negated:
            covered = any(start <= tokens[m.first].start < end for m in mentions)
            self._exclude_phrase(text[start:end], intent, covered=covered)
        negated_tokens = {i for i, t in enumerate(tokens) if within(negated, t)}
        scene_mentions = self.scenes.find(tokens, skip=taken | negated_tokens)
        taken |= {i for m in scene_mentions for i in range(m.first, m.last + 1)}
        # What is left of the text: titles (with their own punctuation, "Sally...", "E.T."),
        # scene names and negations blanked out.
        spans = [_span(text, tokens, m) for m in mentions] + [(tokens[i].start, tokens[i].end) for i in taken]
        masked = _mask(text, spans + negated)
        self._loose_likes(masked, intent)
        intent.scene = self._target(tokens, scene_mentions, intent.likes)
        self._refinements(masked, intent)
        return intent

    # -- titles ---------------------------------------------------------------------------------
    def _quoted(self, text, tokens, intent) -> tuple[list[Mention], set[int]]:
        mentions, taken = [], set()
        for match in QUOTED.finditer(text):
            group = next(g for g in range(1, 5) if match.group(g))
            start, end = match.span(group)
            inside = [i for i, t in enumerate(tokens) if start <= t.start < end]
            if not inside:
                continue
            quoted = match.group(group).strip()
            found = self.index.find(text, tokens, quoted=True,
                                    skip={i for i in range(len(tokens)) if i not in inside})
            if len(found) == 1 and (found[0].first, found[0].last) == (inside[0], inside[-1]):
                mentions.append(found[0])
            else:
                item = self._loose(quoted, intent)
                if item is None:
                    taken |= set(inside)
                    continue
                mentions.append(Mention((item,), inside[0], inside[-1], quoted))
            taken |= set(inside)
        return mentions, taken

    def _loose(self, text: str, intent: MessageIntent) -> Item | None:
        try:
            return self.resolve(text)
        except NotFoundError as exc:
            # search tops its title matches up with meaning matches: keep only lookalikes
            typed = normalize_title(text)
            close = [s for s in exc.suggestions if title_similarity(typed, normalize_title(s)) >= LOOKALIKE]
            intent.unknown.append(Unresolved(text, tuple(close)))
            return None

    def _loose_likes(self, masked: str, intent: MessageIntent) -> None:
        """Pieces after "loved / liked / fan of" that no exact title covered: typos, lower case
        (``masked``: the text with titles, scene names and negations blanked out)."""
        for match in LIKES.finditer(masked):
            start, end = match.span("clause")
            stop = CLAUSE_END.search(masked, start, end)
            end = stop.start() if stop else end
            for piece in SEPARATOR.split(masked[start:end]):
                piece = FILLER.sub("", piece.strip(" \t-:()\"'")).strip()
                words = title_words(piece)
                if (not words or len(words) > 8 or not any(len(w) > 2 for w in informative(words))
                        or self.scenes.lookup(piece)):
                    continue
                item = self._loose(piece, intent)
                if item is not None and item not in intent.likes:
                    intent.likes.append(item)
                    intent.liked_text.append(piece)

    def _exclude_phrase(self, phrase: str, intent: MessageIntent, *, covered: bool) -> None:
        """"no star wars": leave out every item whose title holds those words in a row (a title
        found in the phrase is left out already). A capitalised phrase that matches nothing is
        reported; "not sure" is not."""
        phrase = phrase.strip()
        words = title_words(phrase)
        if not informative(words) or self.scenes.lookup(phrase):
            return
        hits = [i for i in self.items if _contains(title_words(i.title), words)]
        intent.excludes.extend(i for i in hits if i not in intent.excludes)
        if not hits and not covered and phrase[:1].isupper():
            intent.unmatched_excludes.append(phrase)

    # -- scenes and refinements -------------------------------------------------------------------
    def _target(self, tokens: list[Token], mentions: list[SceneMention], likes: list[Item]) -> str | None:
        """The scene asked for: one named after "what / some / any…" beats one named after
        "loved / fan of…", and a scene every liked title is in is where the tastes come from."""
        if not mentions:
            return None
        liked_scenes = {i.scene for i in likes}

        def score(m: SceneMention) -> int:
            before = {t.norm for t in tokens[max(0, m.first - 3):m.first]}
            after = {t.norm for t in tokens[m.last + 1:m.last + 3]}
            value = int(bool(before & ASKING)) - int(bool(before & LIKING) or bool(after & FAN_AFTER))
            return value - int(liked_scenes == {m.scene})

        return max(mentions, key=lambda m: (score(m), -m.first)).scene

    def _refinements(self, masked: str, intent: MessageIntent) -> None:
        intent.older = bool(OLDER.search(masked))
        intent.newer = bool(NEWER.search(masked)) and not intent.older
        intent.more = bool(MORE.search(masked))
        for match in BEFORE.finditer(masked):
            year = int(match.group(2))
            intent.max_year = year if match.group(1).lower() in ("until", "up to") else year - 1
        for match in AFTER.finditer(masked):
            year = int(match.group(2))
            intent.min_year = year if match.group(1).lower() == "since" else year + 1
        decade = DECADE.search(masked)
        if decade and intent.min_year is None and intent.max_year is None:
            century = int(decade.group(1)) if decade.group(1) else (19 if int(decade.group(2)) >= 2 else 20)
            intent.min_year = century * 100 + int(decade.group(2)) * 10
            intent.max_year = intent.min_year + 9
        count = COUNT.search(masked)
        if count:
            intent.k = int(count.group(1) or count.group(2))
        user = USER.search(masked)
        if user:
            intent.user = user.group(1)


def median_year(items: list[Item]) -> int | None:
    years = [i.year for i in items if i.year]
    return int(statistics.median(years)) if years else None


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))


def _span(text: str, tokens: list[Token], mention: Mention) -> tuple[int, int]:
    """Where a title stands in the text, with the punctuation that is part of it."""
    start, end = tokens[mention.first].start, tokens[mention.last].end
    title = mention.item.title
    while end < len(text) and not text[end].isalnum() and not text[end].isspace() and text[end] in title:
        end += 1
    return start, end


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
