"""A whole conversation -> one request to the agent.

The server keeps no session: every call carries the conversation, and it is read again from
the start. Liked titles add up over the user's turns (a title later negated is dropped), so do
titles to leave out. A turn that names a scene moves the target there (and drops the years
asked for the last one). "older" / "newer" are relative to the answer just before that turn
(its median year) and each replaces the last; "more" leaves out what the answers since the last
other request showed, so the next k come. An earlier answer is read back from its numbered
lines ("1. **Star Wars** (1977)"), the form render.py writes.

Genres add up the same way: wanted ones and avoided ones over the user's turns, a genre later
avoided leaving the wanted ones and the other way round ("funny sci-fi", then "no comedy"). The
topic's phrases add up too. A turn that moves the target to another scene drops the wanted
genres and the topic with the years (they described the last scene's films); avoided genres stay
(a dislike holds in any scene).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.domain import Item
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.parse import MessageIntent, ReadingLimits, Unresolved, median_year

ANSWER_LINE = re.compile(r"^\s*\d+\.\s+\*\*(?P<title>.+?)\*\*(?:\s*\((?P<year>\d{4})\))?", re.MULTILINE)


@dataclass
class Turn:
    role: str
    text: str


@dataclass
class Understanding:
    """What the conversation asks, after every turn is read."""

    likes: list[Item] = field(default_factory=list)
    excludes: list[Item] = field(default_factory=list)
    scene: str | None = None  # named in the latest user turn
    earlier_scene: str | None = None  # the last named in an earlier turn
    mentioned: str | None = None  # the last named in any turn
    min_year: int | None = None
    max_year: int | None = None
    year_reason: str | None = None
    shown: list[str] = field(default_factory=list)  # left out by "more"
    user: str | None = None
    k: int | None = None
    latest: MessageIntent = field(default_factory=MessageIntent)
    unknown: list[Unresolved] = field(default_factory=list)
    unmatched_excludes: list[str] = field(default_factory=list)
    previous_answer: list[Item] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)  # catalogue genres the picks should have (any one)
    avoid_genres: list[str] = field(default_factory=list)  # catalogue genres the picks must not have
    topic: list[str] = field(default_factory=list)  # phrases: "time travel", "thoughtful"


def read_answer(text: str, catalogue: ChatCatalogue) -> list[Item]:
    items = []
    for match in ANSWER_LINE.finditer(text):
        year = int(match.group("year")) if match.group("year") else None
        item = catalogue.index.exact(match.group("title"), year)
        if item is not None:
            items.append(item)
    return items


def understand(turns: list[Turn], catalogue: ChatCatalogue, limits: ReadingLimits | None = None) -> Understanding:
    """``limits``: what reading the whole conversation may cost (TooMuchToRead past it)."""
    state = Understanding()
    previous: list[Item] = []
    users = [n for n, t in enumerate(turns) if t.role == "user"]
    for n, turn in enumerate(turns):
        if turn.role == "assistant":
            previous = read_answer(turn.text, catalogue)
            continue
        if turn.role != "user":
            continue
        intent = catalogue.parser.parse(turn.text, limits)
        if n == users[-1]:
            state.earlier_scene = state.mentioned
            state.latest, state.scene = intent, intent.scene
            state.unknown, state.unmatched_excludes = intent.unknown, intent.unmatched_excludes
            state.previous_answer = previous
        _apply(state, intent, previous, catalogue)
    return state


def _apply(state: Understanding, intent: MessageIntent, previous: list[Item], catalogue: ChatCatalogue) -> None:
    excluded = {i.item_id for i in intent.excludes}
    state.likes = [i for i in state.likes if i.item_id not in excluded]
    for item in intent.likes:
        if item.item_id not in {i.item_id for i in state.likes}:
            state.likes.append(item)
    for item in intent.excludes:
        if item.item_id not in {i.item_id for i in state.excludes}:
            state.excludes.append(item)
    if intent.scene:
        if state.mentioned and intent.scene != state.mentioned:  # the years asked were about the last scene
            state.min_year = state.max_year = state.year_reason = None
            state.genres, state.topic = [], []
        state.mentioned = intent.scene
    state.avoid_genres = [g for g in state.avoid_genres if g not in intent.genres]
    state.genres = [g for g in state.genres if g not in intent.avoid_genres]
    state.genres += [g for g in intent.genres if g not in state.genres]
    state.avoid_genres += [g for g in intent.avoid_genres if g not in state.avoid_genres]
    state.topic += [t for t in intent.topic if t not in state.topic]
    if intent.user:
        state.user = intent.user
    if intent.k:
        state.k = intent.k
    if intent.min_year is not None or intent.max_year is not None:
        state.min_year, state.max_year = intent.min_year, intent.max_year
        state.year_reason = _span(intent.min_year, intent.max_year)
    elif intent.older or intent.newer:
        reference = median_year(previous)
        source = "the last list"
        if reference is None:
            scene = intent.scene or state.mentioned or catalogue.default_target(state.likes)
            reference, source = median_year(catalogue.scene_items(scene)), f"most {scene} here"
        if reference is not None:
            older = intent.older
            state.min_year, state.max_year = (None, reference - 1) if older else (reference + 1, None)
            state.year_reason = f"{'older' if older else 'newer'} than {source} (median {reference})"
    if intent.more and previous:
        state.shown.extend(i.item_id for i in previous if i.item_id not in state.shown)
    else:
        state.shown = []  # anything but "more" starts the list again


def _span(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"from {low} on" if low is not None else f"up to {high}"
