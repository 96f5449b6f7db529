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


# What a request says around its topic ("Any sci-fi about time travel, please?"): the words of
# asking, liking and politeness, contraction tails ("I've" -> "ve"), and the same few words in
# the other languages whose scene names are read (languages.SPACED; accents folded). A topic is
# what is left once these, stop words, titles, scenes, genres, years and counts are taken out.
FILLER = STOP_WORDS | frozenset("""
    movie movies film films flick flicks watch watched watching love loved loves like liked likes
    enjoy enjoyed enjoys adore adored fan fans favorite favourite favorites favourites recommend
    recommended recommendation recommendations suggest suggestion suggestions want wanted need
    looking look good great best nice cool awesome really pretty kind sort stuff pick picks one
    ones thing things genre genres scene lot lots big thanks thank hi hello hey okay ok yes yeah
    maybe also just still tell try give show list options option ideas idea please instead
    actually made let lets similar ll ve re don didn doesn isn wasn tonight today bit little
    others else recent new old older newer user users title titles answer answers sure
    me encanto encantaron gusta gusto gustaron alguna algun algunas algunos pelicula peliculas
    de del la el los las una un que por favor quiero recomienda recomiendame recomendar
    ai adore aime des les le du une je veux conseille ich mag liebe habe geliebt einen eine
    filme mi piace piaciuto piacciono di qualche consigli voglio eu gostei adorei amei filmes
    algum alguma quero recomenda got
""".split())


def filler(word: str) -> bool:
    """Whether a word of a request (a hyphenated compound counts as one: "feel-good") says nothing
    of what the films should be about."""
    parts = re.findall(r"[a-z0-9]+", fold(word))
    return all(p in FILLER or p.isdigit() or len(p) < 2 for p in parts)


TOPIC_PIECE = re.compile(r"[^\W_][\w'’-]*")
TOPIC_BREAK = re.compile(r"[^\w\s'’-]+")  # punctuation, and what was taken out (masked with "|")
TOPIC_PHRASES, TOPIC_WORDS = 5, 8


def topic_phrases(masked: str) -> list[str]:
    """The topic phrases of a message with everything else masked by "|": each stretch between
    punctuation, trimmed of filler at both ends ("Any | about time travel?" -> "time travel");
    at most TOPIC_PHRASES of TOPIC_WORDS words each."""
    phrases = []
    for piece in TOPIC_BREAK.split(masked):
        words = list(TOPIC_PIECE.finditer(piece))
        kept = [n for n, w in enumerate(words) if not filler(w.group())]
        if kept:
            first, last = kept[0], min(kept[-1], kept[0] + TOPIC_WORDS - 1)
            phrases.append(piece[words[first].start():words[last].end()])
    return phrases[:TOPIC_PHRASES]
