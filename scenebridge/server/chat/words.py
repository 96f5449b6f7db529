"""Words of a chat message: tokens with their place in the text, and the words too common to
name a title on their own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

from core.titles import fold

ARTICLES = frozenset({"the", "a", "an"})
# Words of chat about films: on their own (or only with stop words) they name no title.
CHAT_WORDS = frozenset("""
    movie movies film films flick flicks watch watched watching love loved loves like liked likes
    enjoy enjoyed enjoys adore adored fan fans favorite favourite favorites favourites recommend
    recommendation recommendations suggest suggestion suggestions want need looking good great best
    nice cool awesome really pretty kind sort stuff show shows pick picks older newer old new recent
    earlier later latest modern classic classics vintage similar ones thing things time year years
    sci fi scifi science fiction comedy comedies funny genre scene lot lots big little day night
    thanks thank hi hello hey okay ok yes yeah maybe also just still tell try
""".split())
# English stop words: scikit-learn's list (ENGLISH_STOP_WORDS, from the Glasgow IR group), kept as
# data here rather than importing scikit-learn for a word list.
STOP_WORDS = frozenset(files(__package__).joinpath("stop_words.txt").read_text().split())
COMMON = STOP_WORDS | CHAT_WORDS

# Letters and digits, CJK apart: they fold to nothing, and "我喜欢Alien" must give "Alien", capitalised.
_WORD = re.compile(r"[^\W_\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+", re.UNICODE)


@dataclass(frozen=True)
class Token:
    text: str  # as typed
    norm: str  # folded
    start: int
    end: int

    @property
    def capitalized(self) -> bool:
        return self.text[:1].isupper() or self.text[:1].isdigit()


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _WORD.finditer(text):
        norm = fold(match.group())
        # "É" folds to "e"; a word of symbols only folds to nothing and is no token
        for part in re.findall(r"[a-z0-9]+", norm):
            tokens.append(Token(match.group(), part, match.start(), match.end()))
    return tokens


def sentence_initial(text: str, start: int) -> bool:
    """Whether the word at ``start`` opens a sentence (its capital says nothing then)."""
    before = text[:start].rstrip(" \t\"'“‘*_(")
    return not before or before[-1] in ".!?\n:;—–-"


def informative(words: list[str] | tuple[str, ...]) -> list[str]:
    return [w for w in words if w not in COMMON and not w.isdigit()]
