"""What a chat request asks, as one typed record: the form the labelled set (tests/data/
chat_requests.jsonl) is written in, what every way of understanding a conversation (the rules
here, an instruct model under a JSON schema) is scored against, field by field.

Items are ids ("Sabrina (1954)"): a title is resolved once, and the id travels unchanged to the
ranker and the explanation. ``kind`` says whether picks are wanted at all: a front-end's
background task ("### Task: ... JSON"), or a greeting or a question, must not get them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scenebridge.server.chat import tasks
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.conversation import Turn, Understanding, understand
from scenebridge.server.chat.languages import language_of
from scenebridge.server.chat.parse import ReadingLimits

Kind = Literal["recommend", "task", "chat"]
FIELDS = ("kind", "likes", "exclude", "target_scene", "genres", "avoid_genres", "min_year", "max_year", "topic",
          "k", "user_id")
SMALL_TALK = frozenset({"greeting", "thanks", "question", "about"})  # tasks.Reply kinds that are chat


class ChatIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "recommend"
    likes: list[str] = Field(default_factory=list, description="Item ids the person likes.")
    exclude: list[str] = Field(default_factory=list, description="Item ids to leave out (named, or shown already).")
    target_scene: str | None = Field(default=None, description="The scene asked for; None: not said.")
    genres: list[str] = Field(default_factory=list, description="Catalogue genres the picks should have.")
    avoid_genres: list[str] = Field(default_factory=list, description="Catalogue genres the picks must not have.")
    min_year: int | None = None
    max_year: int | None = None
    topic: list[str] = Field(default_factory=list, description="Topic or mood words, the request's remaining text.")
    k: int | None = None
    user_id: str | None = None
    language: str = Field(default="en", description="ISO 639-1 code of the request's language.")


@dataclass(frozen=True)
class Labelled:
    """One request of the labelled set: its conversation and what it asks."""

    name: str
    turns: list[Turn]
    intent: ChatIntent


def load_labelled(path: Path) -> list[Labelled]:
    """The labelled set: JSON lines of {"id", "messages": [{"role", "content"}], "intent"}."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            turns = [Turn(m["role"], m["content"]) for m in record["messages"]]
            rows.append(Labelled(record["id"], turns, ChatIntent(**record["intent"])))
    return rows


def field_right(field: str, expected: ChatIntent, got: ChatIntent) -> bool:
    """Lists are sets (order is not asked for); a topic is right when every expected keyword is in
    what was read (the words around it may differ) and nothing was read where none was asked."""
    want, have = getattr(expected, field), getattr(got, field)
    if field == "topic":
        text = " ".join(have).lower()
        return all(w.lower() in text for w in want) if want else not have
    if isinstance(want, list):
        return set(want) == set(have)
    return want == have


def scored_fields(expected: ChatIntent) -> tuple[str, ...]:
    """Every field for a request for picks; only ``kind`` for anything else (a task prompt's
    embedded chat is not a request)."""
    return FIELDS if expected.kind == "recommend" else ("kind",)


def from_understanding(seen: Understanding, *, kind: Kind = "recommend", language: str | None = None) -> ChatIntent:
    """The rules' reading of a conversation (conversation.understand) as a ChatIntent; the
    language is the latest user turn's unless given."""
    return ChatIntent(
        kind=kind, likes=[i.item_id for i in seen.likes],
        exclude=list(dict.fromkeys([*(i.item_id for i in seen.excludes), *seen.shown])),
        target_scene=seen.scene or seen.earlier_scene, genres=list(seen.genres),
        avoid_genres=list(seen.avoid_genres), min_year=seen.min_year, max_year=seen.max_year,
        topic=list(seen.topic), k=seen.k, user_id=seen.user, language=language or seen.latest.language)


def kind_of(reply: tasks.Reply | None) -> Kind:
    """What tasks.reply's answer says the conversation is: a front-end's task, small talk, or
    (no answer) a request for picks."""
    if reply is None:
        return "recommend"
    return "chat" if reply.kind in SMALL_TALK else "task"


def read(turns: list[Turn], catalogue: ChatCatalogue, limits: ReadingLimits | None = None) -> ChatIntent:
    """The rules' reading of a conversation, as the chat server reads it: a front-end's task or
    small talk first (tasks.py: only ``kind`` and ``language``), else the request (conversation.py)."""
    other = tasks.reply(turns, catalogue)
    if other is not None:
        latest = next((t.text for t in reversed(turns) if t.role == "user"), "")
        return ChatIntent(kind=kind_of(other), language=language_of(latest))
    return from_understanding(understand(turns, catalogue, limits))
