"""One user message -> what it asks: liked titles, titles to leave out, a scene, genres wanted
and avoided, refinements, and a topic.

Order of work: negations ("not Star Wars", "no horror", "without The Matrix or Men in Black": a
list after a negation is negated through its "or" / "nor", through "and" or a comma when what
follows is a title or genre words), quoted titles ("Grondhog Day" is matched loosely; 《》「」『』
quote titles too, and one in another script is reported unknown without a lookup: the store's
titles are English), exact title matches on word n-grams (titles.py; a title followed by more
capitalised words, "Life of Brian", "Eddie Murphy", is read as that longer name: the title it
loosely matches when that title holds all its words, else no title), scene names (scenes.py; the
words of other languages in languages.py), genre words (genres.py), then, in what follows
"loved / liked / fan of", the pieces no exact title covered are looked up loosely (typos). What
is left, with titles and negations masked, is read for refinements: older / newer / a decade
("the 80s", "the seventies") / between, before or after a year / more / a count; what is left
after those and the filler of a request (words.FILLER) is the topic ("about time travel",
"thoughtful", "darker").

A negated phrase made only of genre words is a genre to avoid, never a title search. A title
negated after "no" / "without" leaves out every title holding its words ("no Star Trek": all nine);
after "not" / "hated" / "don't like" only the one a like would mean ("not Star Wars": the 1977
film), and "hated Manhattan" leaves out Manhattan, not every title holding the word.

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
from scenebridge.server.chat.genres import GenreMention, GenreNames
from scenebridge.server.chat.languages import language_of
from scenebridge.server.chat.negations import PRONOUNS, Negated, negated_phrases
from scenebridge.server.chat.refinements import read_refinements
from scenebridge.server.chat.scenes import SceneMention, SceneNames
from scenebridge.server.chat.titles import Mention, TitleIndex
from scenebridge.server.chat.words import COMMON, Token, informative, tokenize, topic_phrases
from scenebridge.server.limits import TooMuchToRead

QUOTED = re.compile(r"\"([^\"\n]{2,100})\"|“([^”\n]{2,100})”|(?<!\w)'([^'\n]{2,100})'(?!\w)|\*([^*\n]{2,100})\*|"
                    r"《([^》\n]{1,100})》|「([^」\n]{1,100})」|『([^』\n]{1,100})』")
CONNECTORS = frozenset({"of", "the"})  # inside a name written in capitals: "Life of Brian"
LIKES = re.compile(
    r"\b(?:lov(?:e|ed|es)|lik(?:e|ed|es)|enjoy(?:ed|s)?|ador(?:e|ed|es)|fan of|into|"
    r"favou?rites?(?:\s+(?:is|are|was|were|include))?|such as|watched|seen)\b\s*"
    r"(?P<clause>(?:[^.;!?\n—–]|[.!?](?=\S|\s+(?:and|or|&)\s)|(?:(?<=\bDr)|(?<=\bMr)|(?<=\bMrs)|(?<=\bMs)|(?<=\bSt)|(?<=\bJr)|"
    r"(?<=\bvs))\.)+)",
    re.IGNORECASE)
CLAUSE_END = re.compile(r"\b(?:what|which|can|could|would|should|recommend|suggest|any|so|now|but|"
                        r"give|show|tell|please|do you|is there|are there)\b", re.IGNORECASE)
SEPARATOR = re.compile(r"\s*(?:,|&|/|\+|\band\b|\bor\b|\balso\b)\s*", re.IGNORECASE)
FILLER = re.compile(r"^(?:(?:the\s+)?(?:movies?|films?)\s+|watching\s+|seeing\s+|a\s+lot\s+of\s+|"
                    r"really\s+|also\s+|both\s+)+", re.IGNORECASE)
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
    genres: list[str] = field(default_factory=list)  # catalogue genres asked for ("funny sci-fi": Comedy)
    avoid_genres: list[str] = field(default_factory=list)  # negated ("no horror": Horror)
    topic: list[str] = field(default_factory=list)  # the rest of the request ("about time travel")


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
        self.genres = GenreNames([g for i in items for g in i.genres])
        self.resolve = resolve  # loose title lookup: raises NotFoundError with suggestions

    def parse(self, text: str, limits: ReadingLimits | None = None) -> MessageIntent:
        """``limits``: what this message may still cost (shared by the turns of a conversation);
        raises TooMuchToRead past them, before the lookups."""
        limits = limits or unlimited()
        intent = MessageIntent(language=language_of(text))
        tokens = tokenize(text)
        negated = negated_phrases(text, tokens, self.genres)
        searched = [n for n in negated if n.searched]
        limits.take_exclusions(sum(self._matched(text[n.start:n.end]) for n in searched))

        negated_starts = [n.start for n in negated]  # in order, none overlapping

        def negated_at(token: Token) -> Negated | None:
            n = bisect_right(negated_starts, token.start) - 1
            return negated[n] if n >= 0 and token.start < negated[n].end else None

        genre_phrases = {i for i, t in enumerate(tokens) if (n := negated_at(t)) is not None and not n.searched}
        mentions, taken = self._quoted(text, tokens, intent, limits)
        quoted = set(taken)
        found = [m for m in self.index.find(text, tokens, skip=taken | genre_phrases)
                 if not self.genres.only_genres(tokens[m.first:m.last + 1])]  # "The War": a genre word
        limits.take_titles(len(found))
        found, names = self._names(text, tokens, found, limits)
        for mention in found:
            mentions.append(mention)
            taken |= set(range(mention.first, mention.last + 1))
        for mention in mentions:
            negation = negated_at(tokens[mention.first])
            if negation is not None:
                intent.excludes.extend(i for i in (mention.items if negation.every and not mention.dated
                                                   else mention.items[:1]) if i not in intent.excludes)
            else:
                intent.likes.append(mention.item)
                intent.liked_text.append(mention.text)
        for n in searched:  # "no Star Trek": every title holding those words too; "not Star Wars": the one
            covered = any(n.start <= tokens[m.first].start < n.end for m in mentions)
            self._exclude_phrase(text[n.start:n.end], intent, covered=covered, every=n.every)
        negated_tokens = {i for i, t in enumerate(tokens) if negated_at(t)}
        scene_mentions = self.scenes.find(tokens, skip=taken | negated_tokens)
        taken |= {i for m in scene_mentions for i in range(m.first, m.last + 1)}
        target = self._target(tokens, scene_mentions, intent.likes)
        scene_tokens = {i for m in scene_mentions for i in range(m.first, m.last + 1)}
        # What is left of the text: titles (with their own punctuation, "Sally...", "E.T."),
        # names, scene names and negations blanked out.
        spans = [_span(text, tokens, m) for m in mentions] + [(tokens[i].start, tokens[i].end) for i in taken | names]
        masked = _mask(text, spans + [(n.start, n.end) for n in negated])
        liked = _liked_clauses(masked)
        genre_mentions = self.genres.find(tokens, skip=(taken - scene_tokens) | quoted | names)
        tastes = [m for m in genre_mentions if any(s <= tokens[m.first].start < e for _, s, e in liked)]
        self._genres(tokens, [m for m in genre_mentions if m not in tastes], scene_mentions, target, negated_at,
                     intent)
        self._loose_likes(masked, liked, intent, limits)
        intent.scene = (target.scene if target else None) or self.scenes.unspaced_scene(
            text, {i.scene for i in intent.likes})
        refined = read_refinements(masked)
        for name in ("older", "newer", "more", "min_year", "max_year", "k", "user"):
            setattr(intent, name, getattr(refined, name))
        for bound in (n.years for n in negated if n.years and intent.min_year is None and intent.max_year is None):
            intent.min_year, intent.max_year = bound  # "nothing from before 1980": 1980 on
        read = list(refined.spans)
        if intent.language == "en":  # the store's texts are English: a topic in another language finds nothing
            read += [(tokens[m.first].start, tokens[m.last].end) for m in genre_mentions]
            read += [n.span for n in negated] + [(verb, end) for verb, _, end in liked]
            intent.topic = topic_phrases(_mask(text, spans + read, fill="|"))
        return intent

    # -- genres -----------------------------------------------------------------------------------
    def _genres(self, tokens: list[Token], mentions: list[GenreMention], scenes: list[SceneMention],
                target: SceneMention | None, negated_at: Callable[[Token], Negated | None],
                intent: MessageIntent) -> None:
        """Negated genre words are avoided; the others are wanted, but a scene's name only next
        to the scene asked for ("funny sci-fi": Comedy; "my favourite comedies..., what sci-fi":
        none), and never the scene asked for itself. (``mentions``: none in what the person says
        they liked, "I'm into romantic comedies": those are their tastes.)"""
        scene_tokens = {i: m for m in scenes for i in range(m.first, m.last + 1)}
        own = set(target.scene.split(",")) if target else set()
        for mention in mentions:
            if negated_at(tokens[mention.first]) is not None:
                intent.avoid_genres.extend(g for g in mention.genres if g not in intent.avoid_genres)
                continue
            scene = scene_tokens.get(mention.first)
            if scene is not None and (target is None or scene is target
                                      or not (scene.last + 1 == target.first or target.last + 1 == scene.first)):
                continue
            intent.genres.extend(g for g in mention.genres if g not in own and g not in intent.genres)
        intent.genres = [g for g in intent.genres if g not in intent.avoid_genres]

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

    def _names(self, text: str, tokens: list[Token], found: list[Mention],
               limits: ReadingLimits) -> tuple[list[Mention], set[int]]:
        """Titles that are the start of a longer name in capitals ("Life of Brian", "Eddie
        Murphy"): the name is looked up loosely (one title each, counted first), and read as the
        title it matches when that title holds all its words, else as no title. Returns the
        mentions kept or replaced, and the tokens of names that are no title."""
        taken = {i for m in found for i in range(m.first, m.last + 1)}
        runs = {n: last for n, m in enumerate(found) if (last := _name_end(text, tokens, m.last, taken)) is not None}
        limits.take_titles(len(runs))
        kept, names = [], set()
        for n, mention in enumerate(found):
            if n not in runs:
                kept.append(mention)
                continue
            limits.check_time()
            name = text[tokens[mention.first].start:tokens[runs[n]].end]
            try:
                item = self.resolve(name)
            except NotFoundError:
                item = None
            if item is not None and _contains(title_words(item.title), title_words(name)):
                kept.append(Mention((item,), mention.first, runs[n], name))
            else:
                names |= set(range(mention.first, runs[n] + 1))
        return kept, names

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

    def _loose_likes(self, masked: str, liked: list[tuple[int, int, int]], intent: MessageIntent,
                     limits: ReadingLimits) -> None:
        """Pieces after "loved / liked / fan of" that no exact title covered: typos, lower case
        (``masked``: the text with titles, scene names and negations blanked out; ``liked``: its
        _liked_clauses)."""
        pieces = []
        for _, start, end in liked:
            for piece in SEPARATOR.split(masked[start:end]):
                piece = FILLER.sub("", piece.strip(" \t-:()\"'")).strip()
                words = title_words(piece)
                if (not words or len(words) > 8 or not any(len(w) > 2 for w in informative(words))
                        or self.scenes.lookup(piece) or self.genres.only_genres(tokenize(piece))):
                    continue
                pieces.append(piece)
        limits.take_titles(len(pieces))
        for piece in pieces:
            item = self._loose(piece, intent, limits)
            if item is not None and item not in intent.likes:
                intent.likes.append(item)
                intent.liked_text.append(piece)

    def _exclude_phrase(self, phrase: str, intent: MessageIntent, *, covered: bool, every: bool) -> None:
        """A negated phrase: leave out every item whose title holds those words in a row ("no
        rocky horror", "no Star Trek": ``every``), unless a title found in it (``covered``) is the
        one meant ("hated Manhattan" leaves out Manhattan, not every title with the word). A
        capitalised phrase that matches nothing is reported; "not sure" is not."""
        if (covered and not every) or not self._matched(phrase):
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
    def _target(self, tokens: list[Token], mentions: list[SceneMention], likes: list[Item]) -> SceneMention | None:
        """Where the scene asked for is named: one named after "what / some / any…" beats one named
        after "loved / fan of…", a scene every liked title is in is where the tastes come from, and
        of two named in a row the second is the noun ("funny sci-fi": Sci-Fi, funny)."""
        if not mentions:
            return None
        liked_scenes = {i.scene for i in likes}
        modifiers = {m.first for m, n in zip(mentions, mentions[1:], strict=False) if n.first == m.last + 1}

        def score(m: SceneMention) -> int:
            before = {t.norm for t in tokens[max(0, m.first - 3):m.first]}
            after = {t.norm for t in tokens[m.last + 1:m.last + 3]}
            value = int(bool(before & ASKING)) - int(bool(before & LIKING) or bool(after & FAN_AFTER))
            return value - int(liked_scenes == {m.scene}) - int(m.first in modifiers)

        return max(mentions, key=lambda m: (score(m), -m.first))


def _liked_clauses(text: str) -> list[tuple[int, int, int]]:
    """(where "loved / fan of…" starts, where what is liked starts, where it ends)."""
    clauses = []
    for match in LIKES.finditer(text):
        start, end = match.span("clause")
        stop = CLAUSE_END.search(text, start, end)
        clauses.append((match.start(), start, stop.start() if stop else end))
    return clauses


def median_year(items: list[Item]) -> int | None:
    years = [i.year for i in items if i.year]
    return int(statistics.median(years)) if years else None


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i:i + n] == part for i in range(len(words) - n + 1))


def _name_end(text: str, tokens: list[Token], last: int, taken: set[int]) -> int | None:
    """The last token of the name a title at ``tokens[..last]`` begins, when capitalised words go
    on right after it ("Eddie Murphy", "Life of Brian"; none that is another title, a common
    word or "I"); None when none do."""
    end = last
    while True:
        nxt = end + 1
        if nxt < len(tokens) and tokens[nxt].norm in CONNECTORS and not tokens[nxt].capitalized:
            nxt += 1
        if nxt >= len(tokens) or nxt in taken or nxt - 1 in taken and nxt - 1 != end:
            break
        token = tokens[nxt]
        between = text[tokens[end].end:token.start]
        if (not token.text[:1].isupper() or token.norm in COMMON or token.norm in PRONOUNS
                or between.strip() not in ("", *(t.text for t in tokens[end + 1:nxt]))):
            break
        end = nxt
    return end if end > last else None


def _span(text: str, tokens: list[Token], mention: Mention) -> tuple[int, int]:
    """Where a title stands in the text, with the punctuation that is part of it."""
    start, end = tokens[mention.first].start, tokens[mention.last].end
    title = mention.item.title
    while end < len(text) and not text[end].isalnum() and not text[end].isspace() and text[end] in title:
        end += 1
    if text[end - 1] in ".!?" and text[end:].lstrip()[:1].isupper():
        end -= 1  # "Airplane! Got any…": the title's "!" ends the sentence too
    return start, end


def _mask(text: str, spans: list[tuple[int, int]], fill: str = " ") -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = fill * (end - start)
    return "".join(chars)
