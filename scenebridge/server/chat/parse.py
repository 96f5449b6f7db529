"""One user message -> what it asks: liked titles, titles to leave out, a scene, refinements.

Order of work: quoted titles ("Grondhog Day" is matched loosely; 《》「」『』 quote titles too,
and one in another script is reported unknown without a lookup: the store's titles are English),
negations ("not Star Wars", "no Star Wars", "without Alien"), exact title matches on word n-grams
(titles.py), scene names (scenes.py; the words of other languages in languages.py), then, in
what follows "loved / liked / fan of", the pieces no exact title covered are looked up loosely
(typos). What is left, with titles and negations masked, is read for refinements: older / newer
/ a decade / before or after a year / more / a count.

What a conversation may cost is bounded (ReadingLimits): every quoted or liked title is one title
search in the store, every "not X" phrase is matched against every title; they are counted
before any is looked up, and past the limit the request is refused (400) at once.
"""

from __future__ import annotations

import re
import statistics
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from core.domain import Item
from core.errors import NotFoundError
from core.titles import LOOKALIKE, normalize_title, title_similarity, title_words
from scenebridge.server.chat.languages import language_of
from scenebridge.server.chat.scenes import SceneMention, SceneNames
from scenebridge.server.chat.titles import Mention, TitleIndex
from scenebridge.server.chat.words import Token, informative, tokenize
from scenebridge.server.limits import TooMuchToRead

QUOTED = re.compile(r"\"([^\"\n]{2,100})\"|“([^”\n]{2,100})”|(?<!\w)'([^'\n]{2,100})'(?!\w)|\*([^*\n]{2,100})\*|"
                    r"《([^》\n]{1,100})》|「([^」\n]{1,100})」|『([^』\n]{1,100})』")
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
    language: str = "en"  # languages.language_of: the help is written in it


@dataclass
class ReadingLimits:
    """What one conversation may cost the parser, counted over all its user turns: ``titles``
    looked up (quoted, found in the text, or read loosely after "loved"), ``exclusions`` ("not X"
    phrases that are matched against every title); and ``deadline`` (time.monotonic()), past
    which no more titles are looked up (the request has been answered with a timeout by then:
    this frees the worker thread)."""

    titles: int = 50
    exclusions: int = 30
    deadline: float | None = None
    used_titles: int = 0
    used_exclusions: int = 0

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TooMuchToRead("reading the conversation took longer than the request may; name fewer "
                                "titles, or fewer misspelt ones (each is searched for)", "reading_timeout")

    def take_titles(self, n: int) -> None:
        self.used_titles += n
        if self.used_titles > self.titles:
            raise TooMuchToRead(
                f"the conversation names more than {self.titles} titles ({self.used_titles} counted), the most "
                f"one request looks up; name at most {self.titles}, or start a new conversation with the ones "
                f"that matter most (the server's limit is SCENEBRIDGE_MAX_TITLES)", "too_many_titles")

    def take_exclusions(self, n: int) -> None:
        self.used_exclusions += n
        if self.used_exclusions > self.exclusions:
            raise TooMuchToRead(
                f'the conversation asks to leave out more than {self.exclusions} things ("not X", "no X", '
                f"{self.used_exclusions} counted), the most one request matches; ask for at most "
                f"{self.exclusions}, or start a new conversation (the server's limit is "
                "SCENEBRIDGE_MAX_EXCLUSIONS)", "too_many_exclusions")


def unlimited() -> ReadingLimits:
    return ReadingLimits(titles=10**9, exclusions=10**9)


class MessageParser:
    def __init__(self, index: TitleIndex, scenes: SceneNames, items: list[Item],
                 resolve: Callable[[str], Item]):
        self.index = index
        self.scenes = scenes
        self.items = items  # the catalogue, for negated phrases that are parts of titles
        self._item_words = [title_words(i.title) for i in items]
        self.resolve = resolve  # loose title lookup: raises NotFoundError with suggestions

    def parse(self, text: str, limits: ReadingLimits | None = None) -> MessageIntent:
        """``limits``: what this message may still cost (shared by the turns of a conversation);
        raises TooMuchToRead past them, before the lookups."""
        limits = limits or unlimited()
        intent = MessageIntent(language=language_of(text))
        tokens = tokenize(text)
        negated = [(m.start("phrase"), m.end("phrase")) for m in NEGATION.finditer(text)]
        limits.take_exclusions(sum(self._matched(text[start:end]) for start, end in negated))

        negated_starts = [start for start, _ in negated]  # in order, none overlapping

        def negated_at(token: Token) -> bool:
            n = bisect_right(negated_starts, token.start) - 1
            return n >= 0 and token.start < negated[n][1]

        mentions, taken = self._quoted(text, tokens, intent, limits)
        found = self.index.find(text, tokens, skip=taken)
        limits.take_titles(len(found))
        for mention in found:
            mentions.append(mention)
            taken |= set(range(mention.first, mention.last + 1))
        for mention in mentions:
            if negated_at(tokens[mention.first]):
                intent.excludes.extend(mention.items)
            else:
                intent.likes.append(mention.item)
                intent.liked_text.append(mention.text)
        for start, end in negated:
            covered = any(start <= tokens[m.first].start < end for m in mentions)
            self._exclude_phrase(text[start:end], intent, covered=covered)
        negated_tokens = {i for i, t in enumerate(tokens) if negated_at(t)}
        scene_mentions = self.scenes.find(tokens, skip=taken | negated_tokens)
        taken |= {i for m in scene_mentions for i in range(m.first, m.last + 1)}
        # What is left of the text: titles (with their own punctuation, "Sally...", "E.T."),
        # scene names and negations blanked out.
        spans = [_span(text, tokens, m) for m in mentions] + [(tokens[i].start, tokens[i].end) for i in taken]
        masked = _mask(text, spans + negated)
        self._loose_likes(masked, intent, limits)
        intent.scene = (self._target(tokens, scene_mentions, intent.likes)
                        or self.scenes.unspaced_scene(text, {i.scene for i in intent.likes}))
        self._refinements(masked, intent)
        return intent

    # -- titles ---------------------------------------------------------------------------------
    def _quoted(self, text, tokens, intent, limits: ReadingLimits) -> tuple[list[Mention], set[int]]:
        mentions, taken = [], set()
        quotes = list(QUOTED.finditer(text))
        limits.take_titles(len(quotes))
        starts = [t.start for t in tokens]
        for match in quotes:
            group = match.lastindex
            start, end = match.span(group)
            first, stop = bisect_left(starts, start), bisect_left(starts, end)  # the tokens inside
            quoted = match.group(group).strip()
            if first == stop:  # no Latin word: a title in another script is none of the store's (English)
                if any(c.isalpha() for c in quoted):
                    intent.unknown.append(Unresolved(quoted))
                continue
            found = self.index.find(text, tokens, quoted=True, start=first, stop=stop)
            if len(found) == 1 and (found[0].first, found[0].last) == (first, stop - 1):
                mentions.append(found[0])
            else:
                item = self._loose(quoted, intent, limits)
                if item is None:
                    taken |= set(range(first, stop))
                    continue
                mentions.append(Mention((item,), first, stop - 1, quoted))
            taken |= set(range(first, stop))
        return mentions, taken

    def _loose(self, text: str, intent: MessageIntent, limits: ReadingLimits) -> Item | None:
        limits.check_time()
        try:
            return self.resolve(text)
        except NotFoundError as exc:
            # search tops its title matches up with meaning matches: keep only lookalikes
            typed = normalize_title(text)
            close = [s for s in exc.suggestions if title_similarity(typed, normalize_title(s)) >= LOOKALIKE]
            intent.unknown.append(Unresolved(text, tuple(close)))
            return None

    def _loose_likes(self, masked: str, intent: MessageIntent, limits: ReadingLimits) -> None:
        """Pieces after "loved / liked / fan of" that no exact title covered: typos, lower case
        (``masked``: the text with titles, scene names and negations blanked out)."""
        pieces = []
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
                pieces.append(piece)
        limits.take_titles(len(pieces))
        for piece in pieces:
            item = self._loose(piece, intent, limits)
            if item is not None and item not in intent.likes:
                intent.likes.append(item)
                intent.liked_text.append(piece)

    def _exclude_phrase(self, phrase: str, intent: MessageIntent, *, covered: bool) -> None:
        """"no star wars": leave out every item whose title holds those words in a row (a title
        found in the phrase is left out already). A capitalised phrase that matches nothing is
        reported; "not sure" is not."""
        if not self._matched(phrase):
            return
        phrase = phrase.strip()
        words = title_words(phrase)
        hits = [i for i, title in zip(self.items, self._item_words, strict=True) if _contains(title, words)]
        intent.excludes.extend(i for i in hits if i not in intent.excludes)
        if not hits and not covered and phrase[:1].isupper():
            intent.unmatched_excludes.append(phrase)

    def _matched(self, phrase: str) -> bool:
        """Whether a negated phrase is matched against the titles (what costs: "not sure" is not)."""
        phrase = phrase.strip()
        return bool(informative(title_words(phrase))) and not self.scenes.lookup(phrase)

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
