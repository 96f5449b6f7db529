"""Is every claim of an explanation true? Checked against its evidence (``ItemEvidence``).

- citations: every cited id is in the person's history;
- numbers: every number stated is one of the evidence's numbers (counts, ratings, shares, the
  rating scale), and a rating said of one of the person's films ("you gave X a 5", "X, which you
  rated 4") is their rating of it;
- facts: every year, decade and genre stated is true of the item it is said of;
- the reason: it names the item (so the items of one answer never share a sentence) and, when
  the evidence has any, one of the person's films it rests on.

Which item a claim is said of: the titles in the text are found first (the recommended item's and
its contributors', in any written form, case as written). A year in parentheses right after a title
is that title's; any other year, decade or genre word is said of the nearest title (by characters;
a tie goes to the recommended item); in a text that names no title it must be true of the item or
of one of its contributors. Titles are names, not claims: "Mystery Men" states no genre, "2001: A
Space Odyssey" no year. A number of four digits from 1800 to 2099 is read as a year, so counts of a
thousand or more are written with a comma (the evidence sentence does so).

Genre words are MovieLens' genres with their common forms ("comedies", "science fiction"); a genre
of the items outside that table is matched by its name. Strict on purpose: "the action never stops"
is read as saying Action. That may cost a model's sentence, never lets a false one through.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from agent.explain.evidence import ItemEvidence
from core.domain import Item
from core.titles import display_title, shown_title

GENRE_WORDS = {
    "Action": r"action", "Adventure": r"adventures?", "Animation": r"animation|animated",
    "Children's": r"children'?s", "Comedy": r"comed(?:y|ies)", "Crime": r"crimes?",
    "Documentary": r"documentar(?:y|ies)", "Drama": r"dramas?", "Fantasy": r"fantas(?:y|ies)",
    "Film-Noir": r"film[- ]noirs?|noirs?", "Horror": r"horrors?", "Musical": r"musicals?",
    "Mystery": r"myster(?:y|ies)", "Romance": r"romances?|romantic", "Sci-Fi": r"sci[- ]?fi|science[- ]fiction",
    "Thriller": r"thrillers?", "War": r"wars?", "Western": r"westerns?",
}
# "one" is left out: it is a pronoun far more often than a count ("this one").
NUMBER_WORDS = {w: n for n, w in enumerate("two three four five six seven eight nine ten eleven twelve".split(), 2)}
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(s?)(?![\w]|[.,]\d)")
_YEAR_AFTER = re.compile(r"\s*\((\d{4})\)")
_RATING_BEFORE = re.compile(r"you (?:rated|gave)\s+$", re.IGNORECASE)
_RATING_AFTER = re.compile(r"\s+(?:an?\s+)?(\d+(?:\.\d+)?)(?![\w]|\.\d)")
_WHICH_RATED = re.compile(r",?\s+which you (?:rated|gave)(?: it)?\s+(?:an?\s+)?(\d+(?:\.\d+)?)(?![\w]|\.\d)",
                          re.IGNORECASE)


class ExplanationVerdict(BaseModel):
    citations_valid: bool
    numbers_valid: bool
    facts_valid: bool
    reason_stated: bool
    problems: list[str] = []  # each false claim or missing name, in words

    @property
    def passed(self) -> bool:
        return self.citations_valid and self.numbers_valid and self.facts_valid and self.reason_stated


@dataclass(frozen=True)
class _Mention:
    item: Item
    start: int
    end: int


def _key(genre: str) -> str:
    return re.sub(r"[^a-z]", "", genre.lower())


def _mentions(text: str, items: Sequence[Item], problems: list[str]) -> list[_Mention]:
    """Every title written in the text, longest forms first, never overlapping; a year in
    parentheses after a title without one is checked against the item's."""
    forms = sorted({(form, n) for n, item in enumerate(items)
                    for form in (shown_title(item), item.item_id, display_title(item.title), item.title) if form},
                   key=lambda f: (-len(f[0]), f[1]))
    found: list[_Mention] = []
    for form, n in forms:
        for match in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text):
            start, end = match.span()
            if any(start < m.end and m.start < end for m in found):
                continue
            item = items[n]
            year = _YEAR_AFTER.match(text, end)
            if year and not form.endswith(")"):
                end = year.end()
                if item.year is not None and int(year.group(1)) != item.year:
                    problems.append(f"says {display_title(item.title)} is from {year.group(1)}; it is from {item.year}")
            found.append(_Mention(item, start, end))
    return sorted(found, key=lambda m: m.start)


def _said_of(mentions: list[_Mention], start: int, end: int, item: Item) -> Item | None:
    """The nearest title to a claim (ties: the recommended item); None when no title is written."""
    def distance(m: _Mention) -> tuple[int, bool]:
        gap = 0 if start < m.end and m.start < end else (m.start - end if end <= m.start else start - m.end)
        return gap, m.item.item_id != item.item_id

    return min(mentions, key=distance).item if mentions else None


def _ratings(text: str, mentions: list[_Mention], evidence: ItemEvidence, problems: list[str]) -> None:
    """A rating said of one of the person's films is their rating of it."""
    theirs = {c.item.item_id: c.rating for c in evidence.contributors}
    for m in mentions:
        if m.item.item_id not in theirs:
            continue
        said = (_RATING_AFTER.match(text, m.end) if _RATING_BEFORE.search(text[: m.start]) else None) \
            or _WHICH_RATED.match(text, m.end)
        if said and theirs[m.item.item_id] != float(said.group(1)):
            truth = theirs[m.item.item_id]
            problems.append(f"says you rated {display_title(m.item.title)} {said.group(1)}; "
                            + ("you named it, with no rating" if truth is None else f"you rated it {truth:g}"))


def check_explanation(text: str, cited: Sequence[str], evidence: ItemEvidence,
                      history: Collection[str]) -> ExplanationVerdict:
    item = evidence.item
    items = [item, *(c.item for c in evidence.contributors)]
    strays = [c for c in cited if c not in history]
    citation_problems = [f"cites {c!r}, which is not in the person's history" for c in strays]

    fact_problems: list[str] = []
    mentions = _mentions(text, items, fact_problems)
    named = {m.item.item_id for m in mentions}
    reason_problems = [] if item.item_id in named else [f"does not name {display_title(item.title)}"]
    if evidence.cited and not named & set(evidence.cited):
        reason_problems.append("names none of the person's films it rests on")
    number_problems: list[str] = []
    _ratings(text, mentions, evidence, number_problems)
    masked = list(text)
    for m in mentions:
        masked[m.start:m.end] = " " * (m.end - m.start)
    rest = "".join(masked)

    def true_of(test) -> bool:
        return any(test(i) for i in items)

    def claim(start: int, end: int, test, what: str) -> None:
        subject = _said_of(mentions, start, end, item)
        if not (test(subject) if subject is not None else true_of(test)):
            named = display_title(subject.title) if subject is not None else "the item or its evidence"
            fact_problems.append(f"says {what} of {named}, which is not true of it")

    numbers = evidence.numbers()
    for match in _NUMBER.finditer(rest):
        digits, plural = match.group(1), match.group(2)
        value = float(digits.replace(",", ""))
        if "," not in digits and 1800 <= value <= 2099 and len(digits) == 4:
            year = int(value)
            if plural:
                claim(*match.span(), lambda i, y=year: i.year is not None and i.year // 10 * 10 == y, f"the {year}s")
            else:
                claim(*match.span(), lambda i, y=year: i.year == y, str(year))
        elif plural:
            number_problems.append(f"states {match.group(0)!r}, not a number of the evidence")
        elif value not in numbers:
            number_problems.append(f"states {digits}, not a number of the evidence")
    words = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.IGNORECASE)
    for match in words.finditer(rest):
        if NUMBER_WORDS[match.group(1).lower()] not in numbers:
            number_problems.append(f"states {match.group(1)!r}, not a number of the evidence")

    table = dict(GENRE_WORDS)
    for genre in {g for i in items for g in i.genres}:
        table.setdefault(genre, re.escape(genre))
    for genre, pattern in table.items():
        for match in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", rest, re.IGNORECASE):
            claim(*match.span(), lambda i, g=_key(genre): g in {_key(x) for x in i.genres}, genre)

    return ExplanationVerdict(citations_valid=not strays, numbers_valid=not number_problems,
                              facts_valid=not fact_problems, reason_stated=not reason_problems,
                              problems=citation_problems + number_problems + fact_problems + reason_problems)
