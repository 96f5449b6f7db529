"""Scene names as people write them: "sci-fi", "science fiction", "comedies", "something funny",
"科幻片" (languages.py has the words of other languages).

A store's scene is one or more genres ("Children's,Animation"); each genre brings its own name,
its plural and a few obvious synonyms.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.titles import fold
from scenebridge.server.chat import languages
from scenebridge.server.chat.words import Token

SYNONYMS: dict[str, tuple[str, ...]] = {
    "sci-fi": ("sci fi", "scifi", "science fiction", "sci-fi films"),
    "comedy": ("comedies", "comedic", "funny", "comic"),
    "horror": ("scary", "horror films"),
    "thriller": ("thrillers", "suspense"),
    "romance": ("romances", "romantic", "love stories"),
    "drama": ("dramas",),
    "action": ("action films", "action movies"),
    "adventure": ("adventures",),
    "animation": ("animated", "cartoon", "cartoons", "anime"),
    "children's": ("childrens", "children", "kids films", "kids movies", "family films", "family movies"),
    "documentary": ("documentaries", "docs"),
    "fantasy": ("fantasies",),
    "film-noir": ("noir", "film noir"),
    "musical": ("musicals",),
    "mystery": ("mysteries", "whodunit", "whodunits"),
    "war": ("war films", "war movies"),
    "western": ("westerns",),
    "crime": ("crime films", "crime movies"),
}


def _occurrences(text: str, word: str) -> list[int]:
    starts, at = [], text.find(word)
    while at >= 0:
        starts.append(at)
        at = text.find(word, at + len(word))
    return starts


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in "".join(c if c.isalnum() else " " for c in fold(text)).split())


@dataclass(frozen=True)
class SceneMention:
    scene: str
    first: int  # token index
    last: int  # token index, inclusive


class SceneNames:
    """Every way of naming each scene of a store, matched on word n-grams."""

    def __init__(self, scenes: list[str]):
        self.scenes = list(scenes)
        self.phrases: dict[tuple[str, ...], str] = {}
        unspaced: dict[str, str] = {}
        for scene in scenes:
            for genre in [scene, *scene.split(",")]:
                genre = genre.strip()
                names = {genre, genre + "s", *SYNONYMS.get(genre.lower(), ()), *languages.SPACED.get(genre.lower(), ())}
                for name in names:
                    words = _words(name)
                    if words:
                        self.phrases.setdefault(words, scene)
                for word in languages.UNSPACED.get(genre.lower(), ()):
                    unspaced.setdefault(word, scene)
        self.longest = max((len(p) for p in self.phrases), default=1)
        # Longest first: "科学幻想" before a shorter word inside it.
        self.unspaced = sorted(unspaced.items(), key=lambda w: -len(w[0]))

    def lookup(self, text: str) -> str | None:
        """The scene a name or synonym stands for ("science fiction" -> "Sci-Fi"), else None."""
        return self.phrases.get(_words(text))

    def unspaced_scene(self, text: str, liked: set[str] = frozenset()) -> str | None:
        """The scene a message written without spaces asks for ("我喜欢喜剧，推荐一些科幻片" ->
        Sci-Fi): its scene words outside brackets, none said not to be wanted, the one after
        "推荐" (recommend) before one after "喜欢" (like) or one every liked title (``liked``:
        their scenes) is in, then the last."""
        text = languages.unbracketed(text)
        found: list[tuple[int, int, str]] = []
        taken = [False] * len(text)
        for word, scene in self.unspaced:
            for start in _occurrences(text, word):
                end = start + len(word)
                if any(taken[start:end]):
                    continue
                taken[start:end] = [True] * len(word)
                before, after = text[max(0, start - 6):start], text[end:end + 4]
                if any(n in before[-4:] for n in languages.NOT_BEFORE) or any(n in after for n in languages.NOT_AFTER):
                    continue
                score = (int(any(a in before for a in languages.ASKING))
                         - int(any(w in before[-4:] for w in languages.LIKING)) - int(liked == {scene}))
                found.append((score, start, scene))
        return max(found)[2] if found else None

    def alias(self, scene: str) -> str:
        """The lower-case form a model alias uses: "Sci-Fi" -> "sci-fi"."""
        return scene.lower().replace(" ", "-")

    def find(self, tokens: list[Token], skip: set[int] = frozenset()) -> list[SceneMention]:
        """Scene mentions among ``tokens``, longest first, left to right; ``skip``: token
        indices already taken (titles)."""
        found, i = [], 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                span = range(i, i + size)
                if any(j in skip for j in span):
                    continue
                scene = self.phrases.get(tuple(tokens[j].norm for j in span))
                if scene:
                    found.append(SceneMention(scene, i, i + size - 1))
                    i += size
                    break
            else:
                i += 1
        return found
