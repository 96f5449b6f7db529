"""Titles, written once: how one is shown, split, folded for comparison, and compared.

MovieLens moves leading articles to the end ("American President, The (1995)"); people and
TMDB do not ("The American President"). Every layer that shows a title or matches one typed by a
person goes through here, so a prompt, an answer, an embedded document and a search agree.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from core.domain import Item

_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_TRAILING_ARTICLE = re.compile(r"^(.*), (the|a|an|les|la|le|il|das|der|die|el|l')$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
# Title similarity below this is noise: such titles are not even offered as suggestions.
LOOKALIKE = 75.0


def split_year(title: str) -> tuple[str, int | None]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995)``."""
    match = _YEAR.search(title)
    if not match:
        return title.strip(), None
    return title[: match.start()].strip(), int(match.group(1))


def display_title(title: str) -> str:
    """``"American President, The"`` -> ``"The American President"``."""
    # Alternate titles come in parentheses: "City of Lost Children, The (Cité des ...)".
    main, _, rest = title.partition(" (")
    match = _TRAILING_ARTICLE.match(main)
    if match:
        main = f"{match.group(2)} {match.group(1)}"
        main = main[0].upper() + main[1:]
    return f"{main} ({rest}" if rest else main


def shown_title(item: Item) -> str:
    """How prompts, answers and documents write an item: "The American President (1995)" (the
    year tells films of one name apart)."""
    title = display_title(item.title)
    return f"{title} ({item.year})" if item.year else title


def fold(text: str) -> str:
    """Lower case, accents removed: the form titles are compared in."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def title_words(text: str) -> tuple[str, ...]:
    """The folded words of a text, punctuation dropped: ``"Se7en!"`` -> ``("se7en",)``."""
    return tuple(_WORD.findall(fold(text)))


def normalize_title(title: str) -> str:
    """A title as compared: year dropped, article moved to the front, folded words."""
    return " ".join(title_words(display_title(split_year(title)[0])))


def title_similarity(query: str, title: str, **_: object) -> float:
    """0-100 between two normalised titles. token_set_ratio forgives words the query leaves out
    ("terminator 2" -> "terminator 2 judgment day"); a query much longer than the title is a
    description, not that title ("a crew hunted by a creature" is not "The Hunted"), so the score
    shrinks with the excess. (``**_``: rapidfuzz passes its own keywords to a scorer.)"""
    score = fuzz.token_set_ratio(query, title)
    excess = len(query) / max(len(title), 1)
    return score / excess**0.5 if excess > 1.2 else score
