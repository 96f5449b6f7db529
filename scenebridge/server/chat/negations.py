"""What a message says not to recommend: "not Star Wars", "no horror", "without The Matrix or Men
in Black", "less violent".

A list after a negation is negated through its "or" / "nor", and through "and" or a comma when
what follows is genre words or (after "and") starts like a title: "not Star Wars, I've seen it"
stops at the comma. A phrase made only of genre words names genres (genres.GenreNames.only_genres)
and is never matched against the titles; nor is one after "less" / "fewer". The word that
negates says how much of a title's name is left out: after "no" / "without" every title holding
it ("no Star Trek": all nine), after "not" / "hated" / "don't like" the one a like would mean.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from core.titles import fold
from scenebridge.server.chat.genres import GenreNames
from scenebridge.server.chat.words import Token

PHRASE_END = r"(?=\s*(?:[,.;:!?\n—–]|\s-\s|\b(?:and|or|nor|but|please|thanks|though)\b|$))"
NEGATION = re.compile(
    r"\b(?P<word>not|no|without|except|excluding|exclude|other than|apart from|skip|avoid(?:ing)?|nothing like|anything but|nothing|less|fewer|"
    r"(?:do|did|does)\s*n[o']?t\s+(?:like|want|enjoy)|(?:is|are|was|were)n['’]?t|hated?|dislike[sd]?|can'?t stand)\s+"
    r"(?:any(?:thing)?\s+|more\s+|the\s+movies?\s+|the\s+films?\s+)?(?P<phrase>[^,.;:!?\n]+?)" + PHRASE_END,
    re.IGNORECASE)
# The next item of a negated list: "without war or action", "no horror, war or gore".
NEGATED_MORE = re.compile(r"\s*(?P<sep>,\s*(?:(?:or|nor|and)\s+)?|(?:or|nor|and)\s+)(?:(?:no|not|any)\s+)?"
                          r"(?P<phrase>[^,.;:!?\n]+?)" + PHRASE_END, re.IGNORECASE)
EVERY = frozenset({"no", "without", "nothing", "nothing like", "anything but"})  # "no Star Trek": all of them
MODERATING = frozenset({"less", "fewer"})  # "less violent", "fewer explosions": genres to avoid, never titles
PRONOUNS = frozenset("i we you he she they it that this my our me".split())
COPULA = re.compile(r"(?:is|are|was|were)n['’]?t")  # negates genre words only
# A negated year bound turns over: "nothing from before 1980" asks for 1980 on, "no films after
# 1995" for up to 1995. Never a title search.
NEGATED_YEARS = re.compile(
    r"^(?:(?:films?|movies?|stuff|ones?)\s+)?(?:(?:from|made|released|set)\s+)?"
    r"(?:(?P<before>before|older\s+than|earlier\s+than|prior\s+to|pre)|(?P<after>after|newer\s+than|later\s+than|"
    r"since|post))[\s-]+(?P<year>\d{4})$", re.IGNORECASE)


@dataclass(frozen=True)
class Negated:
    """A negated phrase: where it stands, whether it leaves out every title of its name (``every``:
    "no X"), the genres it names when it is nothing but genre words, and whether it may name
    titles at all."""

    start: int
    end: int
    every: bool
    genres: tuple[str, ...] = ()
    said: int = -1  # where the negation's own words start ("hated", "without"); -1: ``start``
    titles: bool = True  # whether it may name titles ("less violent" does not)
    years: tuple[int | None, int | None] | None = None  # a year bound turned over: (min_year, max_year)

    @property
    def span(self) -> tuple[int, int]:
        return (self.start if self.said < 0 else self.said), self.end

    @property
    def searched(self) -> bool:
        """Whether it is matched against the titles (neither genres nor "less…")."""
        return self.titles and not self.genres


def negated_phrases(text: str, tokens: list[Token], genres: GenreNames) -> list[Negated]:
    """The negated phrases of ``text`` (``tokens``: its words), in order, none overlapping."""
    starts = [t.start for t in tokens]

    def genres_in(start: int, end: int) -> tuple[str, ...]:
        return genres.only_genres(tokens[bisect_left(starts, start):bisect_left(starts, end)])

    found: list[Negated] = []
    for match in NEGATION.finditer(text):
        if found and match.start() < found[-1].end:
            continue  # read already, as part of the list before it
        word = " ".join(match.group("word").lower().split())
        start, end = match.span("phrase")
        bound = NEGATED_YEARS.match(text[start:end].strip())
        if bound is not None:
            year = int(bound.group("year"))
            span = (year, None) if bound.group("before") else (None, year)
            found.append(Negated(start, end, False, (), match.start(), titles=False, years=span))
            continue
        named = genres_in(start, end)
        if COPULA.fullmatch(word) and not named:
            continue  # "that isn't scary" avoids Horror; "Big isn't bad" leaves nothing out
        head = Negated(start, end, word in EVERY, named, match.start(), word not in MODERATING)
        found.append(head)
        while (more := NEGATED_MORE.match(text, end)) is not None:
            start, end = more.span("phrase")
            named = genres_in(start, end)
            separator = more.group("sep").strip(" ,").lower()
            first = fold(more.group("phrase").split()[0])
            titled = more.group("phrase")[:1].isupper() and first not in PRONOUNS
            if not (named or (separator in ("or", "nor") and first not in PRONOUNS)
                    or (separator == "and" and titled)):
                break
            found.append(Negated(start, end, head.every, named, more.start(), head.titles))
    return found
