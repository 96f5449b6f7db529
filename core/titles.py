"""Title normalisation shared by overview matching and free-text search.

MovieLens moves leading articles to the end ("American President, The (1995)"); people and
TMDB do not ("The American President").
"""

from __future__ import annotations

import re
import unicodedata

_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_TRAILING_ARTICLE = re.compile(r"^(.*), (the|a|an|les|la|le|il|das|der|die|el|l')$", re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9]+")


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


def normalize_title(title: str) -> str:
    """Lower case, accents and punctuation removed, article moved to the front."""
    text = display_title(split_year(title)[0])
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", text.lower()).strip()
