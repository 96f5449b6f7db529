"""Genre words as people write them, matched to the catalogue's genres: "funny" -> Comedy,
"romantic" -> Romance, "animated" -> Animation, "scary" -> Horror, "action-heavy" -> Action,
"rom-com" -> Comedy and Romance.

Names come from the store's own genres (each with its plural), scenes.SYNONYMS (the scene names
people use, which are genres too) and the adjectives below. Matching is on word n-grams, longest
first, like titles and scenes; a negated phrase made only of genre words and GENRE_FILLER ("no
horror films please", "not too scary") is a genre to avoid, never a title search.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.titles import fold
from scenebridge.server.chat.scenes import SYNONYMS
from scenebridge.server.chat.words import STOP_WORDS, Token

# Beyond scenes.SYNONYMS: adjectives and compounds (a hyphen splits tokens: "action heavy").
WORDS: dict[str, tuple[str, ...]] = {
    "action": ("action heavy", "action packed", "actiony", "shoot em up", "shoot em ups"),
    "adventure": ("adventurous",),
    "animation": ("animations", "animated films", "animated movies"),
    "children's": ("kids", "for kids", "kid friendly", "family friendly"),
    "comedy": ("hilarious", "humorous", "comedic", "humour", "humor", "sense of humour", "sense of humor"),
    "crime": ("gangster", "gangsters", "heist", "heists"),
    "documentary": ("documentaries",),
    "fantasy": ("fantastical",),
    "horror": ("spooky", "creepy", "gory", "slasher", "slashers", "horrors"),
    "musical": ("musicals",),
    "mystery": ("mysterious",),
    "romance": ("romantic", "romances", "love story"),
    "thriller": ("thrilling", "suspenseful", "thrillers"),
    "war": ("war films", "war movies", "wartime"),
    "western": ("westerns", "cowboy", "cowboys"),
}
# One word naming two genres.
COMBINED: dict[str, tuple[str, ...]] = {
    "romcom": ("comedy", "romance"), "romcoms": ("comedy", "romance"),
    "rom com": ("comedy", "romance"), "rom coms": ("comedy", "romance"),
}
# Words that may stand around genre words without making them anything else.
GENRE_FILLER = frozenset("film films movie movies flick flicks stuff ones kind sort genre genres too very "
                         "overly really heavy much anything please thanks".split()) | STOP_WORDS
IGNORED = frozenset({"unknown", "(no genres listed)"})


def _words(text: str) -> tuple[str, ...]:
    return tuple("".join(c if c.isalnum() else " " for c in fold(text)).split())


@dataclass(frozen=True)
class GenreMention:
    genres: tuple[str, ...]  # catalogue genres, as the store writes them
    first: int  # token indices, inclusive
    last: int


class GenreNames:
    """Every way of naming each of the catalogue's genres, matched on word n-grams."""

    def __init__(self, genres: list[str]):
        self.genres = sorted(g for g in set(genres) if g and g.lower() not in IGNORED)
        by_lower = {g.lower(): g for g in self.genres}
        self.phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for genre in self.genres:
            low = genre.lower()
            for name in {genre, genre + "s", *SYNONYMS.get(low, ()), *WORDS.get(low, ())}:
                if words := _words(name):
                    self.phrases.setdefault(words, (genre,))
        for name, lows in COMBINED.items():
            if all(low in by_lower for low in lows):
                self.phrases.setdefault(_words(name), tuple(by_lower[low] for low in lows))
        self.longest = max((len(p) for p in self.phrases), default=1)

    def find(self, tokens: list[Token], skip: set[int] = frozenset(), start: int = 0,
             stop: int | None = None) -> list[GenreMention]:
        """Genre mentions among ``tokens[start:stop]``, longest first, left to right, none over
        a token of ``skip`` (titles)."""
        stop = len(tokens) if stop is None else stop
        found, i = [], start
        while i < stop:
            for size in range(min(self.longest, stop - i), 0, -1):
                if any(j in skip for j in range(i, i + size)):
                    continue
                genres = self.phrases.get(tuple(t.norm for t in tokens[i:i + size]))
                if genres:
                    found.append(GenreMention(genres, i, i + size - 1))
                    i += size
                    break
            else:
                i += 1
        return found

    def only_genres(self, tokens: list[Token]) -> tuple[str, ...]:
        """The genres a phrase names when it is nothing but genre words and GENRE_FILLER ("horror
        films", "too scary", "war or action"), else () (the phrase may name a title)."""
        mentions = self.find(tokens)
        covered = {j for m in mentions for j in range(m.first, m.last + 1)}
        if not mentions or any(t.norm not in GENRE_FILLER for n, t in enumerate(tokens) if n not in covered):
            return ()
        return tuple(dict.fromkeys(g for m in mentions for g in m.genres))
