"""Finding titles in free text: word n-grams of the message against the store's titles.

Every item is indexed under its normalised title, its main title without the alternate one in
parentheses ("Seven (Se7en)" -> "seven", "se7en"), without a leading article, and the part
before a colon ("Terminator 2: Judgment Day" -> "terminator 2"). The longest match wins, left to
right; among items of one name the exact title beats the colon prefix, then the better known
item, unless the year follows the title in the message ("Sabrina (1954)") or comes right before
it ("the 1998 Parent Trap").

False positives on common words are kept out by how the title is written: a title whose words
are all common ("Speed", "The Fan", "It Could Happen to You") counts only when capitalised (and
not as the first word of a sentence for a single common word) or quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.domain import Item
from core.titles import display_title, split_year, title_words
from scenebridge.server.chat.words import ARTICLES, COMMON, Token, informative, sentence_initial

_YEAR_TOKEN = re.compile(r"^(1[89]\d\d|20\d\d)$")
EXACT, DERIVED = 0, 1


@dataclass(frozen=True)
class Mention:
    """A title found in the text: the items it may mean, best first."""

    items: tuple[Item, ...]
    first: int  # token indices, inclusive
    last: int
    text: str
    dated: bool = False  # a year written with the title chose the first item

    @property
    def item(self) -> Item:
        return self.items[0]


@dataclass
class TitleIndex:
    keys: dict[tuple[str, ...], list[tuple[int, int, Item]]] = field(default_factory=dict)
    longest: int = 1
    prefixes: set[tuple[str, ...]] = field(default_factory=set)  # of every key: where a longer match may start

    @classmethod
    def build(cls, items: list[Item], popularity: dict[str, int]) -> TitleIndex:
        index = cls()
        for item in items:
            for key, kind in _keys(item.title):
                index.keys.setdefault(key, []).append((kind, -popularity.get(item.item_id, 0), item))
        for entries in index.keys.values():
            entries.sort(key=lambda e: (e[0], e[1], e[2].item_id))
        index.longest = max((len(k) for k in index.keys), default=1)
        index.prefixes = {key[:n] for key in index.keys for n in range(1, len(key) + 1)}
        return index

    def exact(self, text: str, year: int | None = None) -> Item | None:
        """The item whose title is exactly ``text`` (as indexed), preferring ``year``."""
        entries = self.keys.get(title_words(split_year(text)[0]))
        if not entries:
            return None
        if year is not None:
            for _, _, item in entries:
                if item.year == year:
                    return item
        return entries[0][2]

    def find(self, text: str, tokens: list[Token], *, quoted: bool = False,
             skip: set[int] = frozenset(), start: int = 0, stop: int | None = None) -> list[Mention]:
        """Titles among ``tokens[start:stop]`` of ``text``, longest first, left to right, none
        overlapping and none over a token of ``skip``."""
        stop = len(tokens) if stop is None else stop
        found, i = [], start
        while i < stop:
            mention = self._longest_at(text, tokens, i, quoted, skip, stop)
            if mention is None:
                i += 1
                continue
            found.append(mention)
            i = mention.last + 1
        return found

    def _longest_at(self, text, tokens, i, quoted, skip, stop) -> Mention | None:
        # How far a key may reach from i: not past ``stop`` or a skipped token, and only while
        # the words so far begin some title (one set lookup per word, whatever the text's length).
        end = i
        while (end < stop and end - i < self.longest and end not in skip
               and tuple(t.norm for t in tokens[i:end + 1]) in self.prefixes):
            end += 1
        for size in range(end - i, 0, -1):
            span = tokens[i:i + size]
            key = tuple(t.norm for t in span)
            entries = self.keys.get(key)
            if not entries or not (quoted or _plausible(text, span)):
                continue
            last = i + size - 1
            items = [e[2] for e in entries]
            after = tokens[last + 1].norm if last + 1 < len(tokens) else ""
            before = tokens[i - 1].norm if i > 0 else ""
            for year_text, follows in ((after, True), (before, False)):
                year = int(year_text) if _YEAR_TOKEN.match(year_text) else None
                if year is not None and any(item.year == year for item in items):
                    items = [x for x in items if x.year == year] + [x for x in items if x.year != year]
                    last += follows
                    return Mention(tuple(items), i, last, text[span[0].start:tokens[last].end], dated=True)
            return Mention(tuple(items), i, last, text[span[0].start:tokens[last].end])
        return None


def _keys(title: str) -> list[tuple[tuple[str, ...], int]]:
    keys: list[tuple[tuple[str, ...], int]] = []

    def add(text: str, kind: int) -> None:
        words = title_words(text)
        if not words or (len(words) == 1 and words[0].isdigit()):
            return
        keys.append((words, kind))
        if len(words) > 1 and words[0] in ARTICLES:
            keys.append((words[1:], kind))

    full = display_title(title)
    add(full, EXACT)
    main, _, rest = full.partition(" (")
    if rest:
        add(main, EXACT)
        add(display_title(rest.rstrip(")")), DERIVED)
    if ":" in main:
        prefix = main.split(":", 1)[0]
        add(prefix[:-3] if prefix.endswith(" or") else prefix, DERIVED)  # "Dr. Strangelove or: How I…"
    seen: set[tuple[str, ...]] = set()
    return [(k, kind) for k, kind in keys if not (k in seen or seen.add(k))]


def _plausible(text: str, span: list[Token]) -> bool:
    """Whether words matching a title are meant as that title (see the module docstring)."""
    words = [t.norm for t in span]
    significant = [t for t in span if t.norm not in ARTICLES] or span
    if len(significant) == 1:
        token = significant[0]
        if token.norm.isdigit() or not token.capitalized:
            return False
        return not (token.norm in COMMON and sentence_initial(text, span[0].start))
    if informative(words):
        return True
    # Only common words ("It Could Happen to You"): written as a title, capitalised.
    return all(t.capitalized for t in significant if t.norm not in COMMON or len(t.norm) > 3)
