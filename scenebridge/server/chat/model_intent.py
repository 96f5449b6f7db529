"""An instruct model's reading of a request for picks, and its merge with the rules'.

The model (any OpenAI-compatible chat server: the packaged qwen2.5-coder-0.5b-instruct under
``scenebridge llm serve``, or a bigger one behind ``--chat-llm-url``) fills a compact record
under a JSON schema: the store's scenes and genres as enums, bounded lists, bounded numbers.
Titles it writes are resolved once, to item ids, by the chat catalogue's title index.

Merged, never trusted blindly (``merge``): the rules' reading stands wherever it says something;
the model only fills a field the rules left empty, and only with what the request's own words
support (a liked title whose words are in the request, a genre named there, a count or a year
written there, topic words taken from it). A 0.5B model invents films, years and genres
(bench/chat_intents.py measures it): those never reach the ranker.

Only requests for picks are read by the model: a front-end's task or small talk is told by the
rules (tasks.py), which the model would only slow down.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.titles import fold, split_year, title_words
from prompts import render
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.conversation import Turn, Understanding
from scenebridge.server.chat.intent import ChatIntent
from scenebridge.server.chat.refinements import DECADE, DECADE_WORDS, NUMBER_WORDS
from scenebridge.server.chat.words import filler, tokenize

MAX_TITLES, MAX_GENRES, MAX_COUNT = 4, 3, 20
MAX_TOPIC_CHARS = 60
MAX_TOKENS = 160  # the whole record, written compactly, fits in about 60-110 tokens
EARLIER_TURNS = 2  # earlier user turns shown to the model, besides the latest

class ModelRecord(BaseModel):
    """What the model writes (the schema's fields; enums are added per store by ``schema``)."""

    model_config = ConfigDict(extra="forbid")

    liked_titles: list[str] = Field(default_factory=list, max_length=MAX_TITLES)
    excluded_titles: list[str] = Field(default_factory=list, max_length=MAX_TITLES)
    scene: str | None = None
    genres: list[str] = Field(default_factory=list, max_length=MAX_GENRES)
    avoid_genres: list[str] = Field(default_factory=list, max_length=MAX_GENRES)
    min_year: int | None = Field(default=None, ge=1880, le=2100)
    max_year: int | None = Field(default=None, ge=1880, le=2100)
    count: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    topic: str | None = Field(default=None, max_length=MAX_TOPIC_CHARS)


def schema(scenes: list[str], genres: list[str]) -> dict:
    """The JSON schema the model answers under: ModelRecord with the store's scenes and genres as
    enums, every field required (a small model skips optional ones unpredictably)."""
    title = {"type": "string", "maxLength": 80}
    genre = {"enum": genres}
    year = {"type": ["integer", "null"], "minimum": 1880, "maximum": 2100}
    properties = {
        "liked_titles": {"type": "array", "items": title, "maxItems": MAX_TITLES},
        "excluded_titles": {"type": "array", "items": title, "maxItems": MAX_TITLES},
        "scene": {"enum": [*scenes, None]},
        "genres": {"type": "array", "items": genre, "maxItems": MAX_GENRES},
        "avoid_genres": {"type": "array", "items": genre, "maxItems": MAX_GENRES},
        "min_year": year, "max_year": year,
        "count": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_COUNT},
        "topic": {"type": ["string", "null"], "maxLength": MAX_TOPIC_CHARS},
    }
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def messages(turns: list[Turn], scenes: list[str]) -> list[dict[str, str]]:
    """The system message (prompts/templates/chat_intent.jinja) and the request: the latest user
    turn, after at most EARLIER_TURNS earlier ones (a refinement reads against them)."""
    said = [t.text for t in turns if t.role == "user"]
    latest, earlier = (said[-1] if said else ""), said[-1 - EARLIER_TURNS:-1]
    text = "".join(f"Earlier, they said: {t}\n" for t in earlier) + (f"Now they say: {latest}" if earlier else latest)
    return [{"role": "system", "content": render("chat_intent", scenes=scenes).text},
            {"role": "user", "content": text}]


@dataclass(frozen=True)
class ModelReading:
    """One model answer: the record (None when it was not one), as ids, and its cost."""

    record: ModelRecord | None
    intent: ChatIntent | None
    seconds: float
    completion_tokens: int = 0
    error: str | None = None


class IntentModel:
    """An OpenAI-compatible chat model that reads requests for picks. Bounded per request: one
    call, ``timeout_s``, no retry, ``MAX_TOKENS``."""

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str = "EMPTY", timeout_s: float = 15.0):
        self.base_url, self._model, self.timeout_s = base_url, model, timeout_s
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    async def model(self) -> str:
        if self._model is None:
            listed = await self.client.models.list()
            if not listed.data:
                raise openai.APIError(f"the server at {self.base_url} serves no model", request=None, body=None)
            self._model = listed.data[0].id
        return self._model

    async def read(self, turns: list[Turn], catalogue: ChatCatalogue) -> ModelReading:
        """The model's reading of ``turns``; never raises for the model's failures (they are
        returned as ``error``: the rules' reading then stands alone)."""
        started = time.perf_counter()
        genres = catalogue.parser.genres.genres
        try:
            answer = await self.client.chat.completions.create(
                model=await self.model(), messages=messages(turns, list(catalogue.retriever.scenes)),
                max_tokens=MAX_TOKENS, temperature=0.0,
                response_format={"type": "json_schema", "json_schema": {
                    "name": "request", "schema": schema(list(catalogue.retriever.scenes), genres)}})
        except openai.OpenAIError as exc:
            return ModelReading(None, None, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"[:300])
        seconds = time.perf_counter() - started
        text = answer.choices[0].message.content if answer.choices else ""
        tokens = answer.usage.completion_tokens if answer.usage else 0
        try:
            record = ModelRecord.model_validate(json.loads(text or ""))
        except (ValueError, ValidationError) as exc:
            return ModelReading(None, None, seconds, tokens, error=f"not a record: {str(exc)[:200]}")
        return ModelReading(record, to_intent(record, catalogue), seconds, tokens)


def resolve(title: str, catalogue: ChatCatalogue) -> str | None:
    """The item id a title written by the model names (its year, when written, chooses)."""
    name, year = split_year(title.strip())
    item = catalogue.index.exact(name, year)
    if item is None:
        found = catalogue.index.find(title, tokenize(title), quoted=True)
        item = found[0].item if len(found) == 1 else None
    return item.item_id if item is not None else None


def to_intent(record: ModelRecord, catalogue: ChatCatalogue) -> ChatIntent:
    """The record as a ChatIntent: titles resolved to ids (unresolved ones dropped), genres and
    scene kept only when the store has them."""
    genres = set(catalogue.parser.genres.genres)
    likes = [i for i in (resolve(t, catalogue) for t in record.liked_titles) if i]
    exclude = [i for i in (resolve(t, catalogue) for t in record.excluded_titles) if i and i not in likes]
    return ChatIntent(
        likes=list(dict.fromkeys(likes)), exclude=list(dict.fromkeys(exclude)),
        target_scene=record.scene if record.scene in catalogue.retriever.scenes else None,
        genres=[g for g in dict.fromkeys(record.genres) if g in genres],
        avoid_genres=[g for g in dict.fromkeys(record.avoid_genres) if g in genres],
        min_year=record.min_year, max_year=record.max_year, k=record.count,
        topic=[record.topic.strip()] if record.topic and record.topic.strip() else [])


# -- the merge ---------------------------------------------------------------------------------
def merge(rules: ChatIntent, model: ChatIntent | None, turns: list[Turn], catalogue: ChatCatalogue) -> ChatIntent:
    """The rules' reading, with each field they left empty filled by the model's where the
    request's words support it (``supported``)."""
    if model is None or rules.kind != "recommend":
        return rules
    said = " ".join(t.text for t in turns if t.role == "user")
    words = {t.norm for t in tokenize(said)}
    update: dict[str, object] = {}
    for field in ("likes", "exclude", "target_scene", "genres", "avoid_genres", "min_year", "max_year", "k", "topic"):
        have, offered = getattr(rules, field), getattr(model, field)
        if field in ("min_year", "max_year") and (rules.min_year, rules.max_year) != (None, None):
            continue  # the years are one span: "since 1990" read by the rules has no end to fill
        if have not in (None, []) or offered in (None, []):
            continue
        kept = supported(field, offered, said, words, catalogue)
        if kept not in (None, []):
            update[field] = kept
    merged = rules.model_copy(update=update)
    if set(merged.likes) & set(merged.exclude):  # a title both liked and left out: the rules' say
        merged = merged.model_copy(update={"likes": rules.likes, "exclude": rules.exclude})
    if set(merged.genres) & set(merged.avoid_genres):
        merged = merged.model_copy(update={"genres": rules.genres, "avoid_genres": rules.avoid_genres})
    if merged.min_year is not None and merged.max_year is not None and merged.min_year > merged.max_year:
        merged = merged.model_copy(update={"min_year": rules.min_year, "max_year": rules.max_year})
    return merged


def understanding(seen: Understanding, merged: ChatIntent, catalogue: ChatCatalogue) -> Understanding:
    """The rules' Understanding with what the merge took from the model (``merge`` only fills
    fields the rules left empty, so nothing of theirs is overwritten)."""
    items = catalogue.items
    if not seen.likes and merged.likes:
        seen.likes = [items[i] for i in merged.likes if i in items]
    if not seen.excludes and merged.exclude and not seen.shown:
        seen.excludes = [items[i] for i in merged.exclude if i in items]
    if seen.scene is None and seen.earlier_scene is None and merged.target_scene:
        seen.scene = merged.target_scene
    for name in ("genres", "avoid_genres", "topic"):
        if not getattr(seen, name):
            setattr(seen, name, list(getattr(merged, name)))
    if seen.min_year is None and seen.max_year is None and (merged.min_year or merged.max_year):
        seen.min_year, seen.max_year = merged.min_year, merged.max_year
    if seen.k is None:
        seen.k = merged.k
    return seen


def supported(field: str, value, said: str, words: set[str], catalogue: ChatCatalogue):
    """What of the model's ``value`` for ``field`` the request's own words support."""
    if field in ("likes", "exclude"):
        return [i for i in value if i in catalogue.items and _title_written(catalogue.items[i].title, words)]
    if field == "target_scene":
        return value if any(g == value for g in _genres_named(said, catalogue)) else None
    if field in ("genres", "avoid_genres"):  # a scene's name says which scene, not a genre within it
        named = _genres_named(said, catalogue) - set(catalogue.retriever.scenes)
        return [g for g in value if g in named]
    if field in ("min_year", "max_year"):
        return value if _year_written(value, said) else None
    if field == "k":
        return value if str(value) in words or any(NUMBER_WORDS.get(w) == value for w in words) else None
    if field == "topic":
        kept = [w for w in re.findall(r"[\w'-]+", " ".join(value)) if fold(w) in words and not filler(w)]
        return [" ".join(kept)] if kept else []
    return None


def _title_written(title: str, words: set[str]) -> bool:
    """Every word of the title (without its year and its article) is in the request."""
    name = title_words(split_year(title)[0])
    meaningful = [w for w in name if w not in ("the", "a", "an")]
    return bool(meaningful) and all(w in words for w in meaningful)


def _genres_named(said: str, catalogue: ChatCatalogue) -> set[str]:
    """The catalogue genres the request names in any of the words the rules know for them."""
    return {g for m in catalogue.parser.genres.find(tokenize(said)) for g in m.genres}


def _year_written(year: int, said: str) -> bool:
    """The year, or a decade holding it ("the 80s", "'90s", "the eighties"), is written in the request."""
    if str(year) in said:
        return True
    if any(m.group(2) == str(year // 10 % 10) for m in DECADE.finditer(said)):
        return True
    low = said.lower()
    return any(word in low for word, start in DECADE_WORDS.items() if start <= year <= start + 9)
