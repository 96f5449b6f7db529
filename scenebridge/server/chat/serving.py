"""A chat completion request -> an answer: the conversation is read (conversation.py), turned
into one RecommendRequest for the shared service, and the result written in Markdown
(render.py); the structured result rides along in extra fields, as the wire's
RecommendationsResponse (the one /v1/recommendations returns). Reading the conversation looks
titles up in the store, so it runs on a worker thread, within the request's reading limits.

A streamed answer is sent as it is written: the header and the first title once the items are
ranked, then each item's reasons (and the next title) as its explanation is ready, in rank order,
then the notes and the footer: the same Markdown as the answer sent whole. Its work slot is held
until the last explanation is written or given up (the client left, or the request's time ran
out); ``usage`` counts tokens with the served model's tokenizer (agent/llm/tokens.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent.llm.breaker import time_left
from agent.recommender import Explaining
from agent.requests import Recommendation, RecommendRequest
from agent.topic import MAX_TOPIC_CHARS
from core.domain import Item
from core.errors import NotFoundError, ScenebridgeError
from core.titles import shown_title
from scenebridge.server import recommendations
from scenebridge.server.chat import constraints, model_intent, render, tasks
from scenebridge.server.chat.conversation import Turn, Understanding, understand
from scenebridge.server.chat.intent import from_understanding
from scenebridge.server.errors import error_payload
from scenebridge.server.limits import RequestTimedOut
from scenebridge.server.protocol import (
    MAX_K,
    NO_USER_MESSAGE,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    RecommendationsResponse,
    Understood,
    Usage,
    completion_id,
)
from scenebridge.server.state import ServerState

log = logging.getLogger("scenebridge.server")


@dataclass
class ChatAnswer:
    text: str
    understood: Understood
    recommendation: Recommendation | None = None
    # A streamed answer still being written: the rest of its text, piece by piece, after ``text``
    # (``recommendation`` and ``understood.notes`` are final once it ends), and its explanations.
    rest: AsyncIterator[str] | None = None
    explaining: Explaining | None = None

    def abandon(self) -> None:
        """Give up the explanations not yet written (the client left, or the time ran out)."""
        if self.explaining is not None:
            self.explaining.cancel()


async def answer(state: ServerState, request: ChatCompletionRequest) -> ChatAnswer:
    card = state.model(request.model)
    retriever, catalogue = state.service.retriever, state.catalogue
    turns = [Turn(m.role, m.text) for m in request.messages]
    # Fields are the caller's explicit request: checked first (an unknown user or scene is a 404
    # whatever the message says), and a user_id asks for that user's picks, never small talk.
    user_id = request.user_id
    if user_id is not None:
        retriever.check_user(user_id)
    asked_scene = state.scene(request.target_scene) if request.target_scene else None
    if user_id is None:
        other = await state.off_loop(tasks.reply, turns, catalogue, card.scene)  # a front-end's task, small talk
        if other is not None:
            return ChatAnswer(other.text, Understood(target_scene=other.scene, notes=[other.note]))
    if not any(t.role == "user" and t.text.strip() for t in turns):  # system messages that are no task
        raise ScenebridgeError(NO_USER_MESSAGE, param="messages", hint="add a user message saying what you liked")
    seen = await state.off_loop(understand, turns, catalogue, state.reading_limits())
    if state.reader is not None:
        seen = await _with_model_reading(state, turns, seen)
    notes: list[str] = []

    if user_id is None and seen.user:
        try:
            user_id = retriever.check_user(seen.user)
        except NotFoundError:
            notes.append(f"There is no user {seen.user!r} in {retriever.dataset}.")
    target = asked_scene or seen.scene or card.scene or seen.earlier_scene or catalogue.default_target(seen.likes)

    likes = [i for i in seen.likes if i.scene in retriever.scenes]
    outside = [i for i in seen.likes if i.scene not in retriever.scenes]
    if outside:
        notes.append(f"{_list(outside)} {'is' if len(outside) == 1 else 'are'} in none of this store's scenes "
                     f"({', '.join(retriever.scenes)}), so {'it does' if len(outside) == 1 else 'they do'} not count.")
    if user_id is not None and likes:
        notes.append(f"Recommending for user {user_id}; the titles named are not used.")
    k = min(request.k or seen.k or state.config.default_k, MAX_K)
    exclude = [i.item_id for i in seen.excludes] + seen.shown
    left_out = [i for i in seen.excludes if i.scene == target]
    if left_out:
        notes.append(f"Left out: {_list(left_out)}.")
    if likes or user_id:
        for miss in seen.unknown:
            guess = [shown_title(catalogue.items[s]) for s in miss.suggestions if s in catalogue.items]
            notes.append(f'I did not recognise "{miss.text}"' + (f" (did you mean {' or '.join(guess)}?)." if guess else "."))
    for phrase in seen.unmatched_excludes:
        notes.append(f'Nothing called "{phrase}" to leave out.')
    topic = _topic(seen)
    understood = Understood(
        likes=[i.item_id for i in likes], user_id=user_id, target_scene=target, exclude=exclude,
        min_year=seen.min_year, max_year=seen.max_year, genres=seen.genres, avoid_genres=seen.avoid_genres,
        topic=topic, page=1 + len(seen.shown) // max(k, 1), unknown=[u.text for u in seen.unknown], notes=notes)

    if user_id is None and not likes:
        return ChatAnswer(_help(state, target, seen, notes), understood)

    # Genres avoided, years, genres wanted: target items left out, each relaxed (and said so)
    # when it would leave fewer than k; the topic is fused with the backbone's scores.
    scene_items = catalogue.scene_items(target)
    applied = constraints.apply(constraints.constraints(seen, target, scene_items), scene_items, target, k,
                                set(exclude) | {i.item_id for i in likes})
    notes.extend(applied.notes)
    query = RecommendRequest(user_id=user_id, likes=[] if user_id else [i.item_id for i in likes],
                             target_scene=target, k=k, explain=request.explain, exclude=exclude + applied.exclude,
                             topic=topic)
    fetch = _start if request.stream else _recommend
    try:
        result = await fetch(state, query)
        notes.extend(applied.held(target))
    except ScenebridgeError as exc:
        if exc.param != "candidates":  # "no candidate left to rank"
            raise
        if not applied.kept:
            text = f"There is nothing more to show in {target} with these constraints."
            return ChatAnswer(text + "\n\n" + "\n".join(render.note(n) for n in notes), understood)
        notes.append(constraints.relaxed(applied, target))
        result = await fetch(state, query.model_copy(update={"exclude": exclude}))
    if topic:
        notes.append(f"Leaning towards what you asked about: {topic}.")
    if isinstance(result, Explaining):
        return _streamed(state, request, result, understood, likes=likes, notes=notes)
    if (why := _model_missing(state, request, result, time_left())) is not None:
        notes.append(f"{why}, so the explanations are built from the evidence.")
    understood.notes = notes
    named = {rec.item_id for rec in result.items} | {e for rec in result.items for e in rec.evidence}
    items = {i.item_id: i for i in retriever.items(sorted(named))}
    return ChatAnswer(render.recommendations(result, items, likes=likes, notes=notes), understood, result)


async def _with_model_reading(state: ServerState, turns: list[Turn], seen: Understanding) -> Understanding:
    """The rules' reading, with the fields they left empty filled by the instruct model where the
    request's words support it (model_intent.merge); within SCENEBRIDGE_CHAT_LLM_TIMEOUT_S and the
    request's own time, past which, or on any failure of the model, the rules' reading stands."""
    left = time_left()
    budget = state.config.chat_llm_timeout_s if left is None else min(state.config.chat_llm_timeout_s, left)
    try:
        reading = await asyncio.wait_for(state.reader.read(turns, state.catalogue), budget)
    except TimeoutError:
        log.warning("the instruct model did not read the request within %.1f s: the rules' reading stands", budget)
        return seen
    if reading.intent is None:
        log.warning("the instruct model's reading is not usable (%s): the rules' reading stands", reading.error)
        return seen
    merged = await state.off_loop(model_intent.merge, from_understanding(seen), reading.intent, turns,
                                  state.catalogue)
    return model_intent.understanding(seen, merged, state.catalogue)


async def _recommend(state: ServerState, request: RecommendRequest) -> Recommendation:
    async with state.queue.slot(timeout=time_left()):
        return await state.service.recommend(request)


_holders: set[asyncio.Task] = set()  # the tasks holding streamed answers' slots (asyncio keeps weak refs)


async def _start(state: ServerState, request: RecommendRequest) -> Explaining:
    """The request ranked and its explanations under way, in a work slot held by a task of its own
    until the last explanation is written or given up: an answer nobody reads to the end still
    frees its slot (its explanations are bounded by the request's model budget)."""
    started: asyncio.Future[Explaining] = asyncio.get_running_loop().create_future()

    async def hold() -> None:
        async with state.queue.slot(timeout=time_left()):
            explaining = await state.service.start(request)
            started.set_result(explaining)
            await explaining.settled()

    holder = asyncio.ensure_future(hold())  # in this request's context: its model budget
    _holders.add(holder)
    holder.add_done_callback(_holders.discard)
    try:
        await asyncio.wait({started, holder}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the client left or the time ran out while ranking
        if started.done():
            started.result().cancel()
        holder.cancel()
        await asyncio.wait({holder}, timeout=5.0)  # its slot is given back on the way out
        raise
    if not started.done():
        holder.result()  # raises what stopped it (busy, nothing to rank, ...)
    return started.result()


def _streamed(state: ServerState, request: ChatCompletionRequest, explaining: Explaining, understood: Understood,
              *, likes: list[Item], notes: list[str]) -> ChatAnswer:
    left = time_left()  # of the model's budget, in this request's context (the writing runs outside it)
    budget_end = None if left is None else time.monotonic() + left
    answer = ChatAnswer("", understood, explaining=explaining)

    async def written() -> AsyncIterator[str]:
        """The Markdown of ``render.recommendations``, piece by piece as the explanations come in."""
        head = explaining.head
        recs = head.items
        known = explaining.items  # read before the status line: writing needs the store no more
        try:
            yield render.header(head, likes=likes) + (render.title(recs[0], known) if recs else "")
            n = 0
            async for rec in explaining.explained():
                n += 1
                named = {**known, **await _items(state, [i for i in rec.evidence if i not in known])}
                piece = render.reasons(rec, named) + (render.title(recs[n], known) if n < len(recs) else "")
                if piece:
                    yield piece
            result = await explaining.result()
        finally:
            explaining.cancel()  # what is left, when the reading stopped early
        left = None if budget_end is None else budget_end - time.monotonic()
        if (why := _model_missing(state, request, result, left)) is not None:
            notes.append(f"{why}, so the explanations are built from the evidence.")
        understood.notes = notes
        answer.recommendation = result
        yield render.footer(result, notes)

    answer.rest = written()
    return answer


async def _items(state: ServerState, item_ids: list[str]) -> dict[str, Item]:
    if not item_ids:
        return {}
    return {i.item_id: i for i in await state.off_loop(state.service.retriever.items, item_ids)}


def _model_missing(state: ServerState, request: ChatCompletionRequest, result: Recommendation,
                   left: float | None) -> str | None:
    """Why the model did not word explanations it should have (its breaker open, or no time left:
    ``left``, the seconds left of the request's model budget when the answer was done)."""
    breaker = state.breaker
    if (breaker is None or state.config.explanations != "llm" or not request.explain
            or not any(i.explanation_source == "evidence" for i in result.items)):
        return None
    if breaker.is_open:
        return f"The model server is not answering ({breaker.reason})"
    if left is not None and left <= 0:
        return f"The model took longer than this request's {state.config.request_timeout_s:g} s allow"
    return None


def _topic(seen: Understanding) -> str | None:
    """The topic phrases as one query for the items' documents, within what a request may carry."""
    text = ", ".join(seen.topic)[:MAX_TOPIC_CHARS].strip(" ,")
    return text or None


def _help(state: ServerState, target: str, seen: Understanding, notes: list[str]) -> str:
    catalogue = state.catalogue
    source = next((s for s in state.service.retriever.scenes if s != target), target)
    suggestions = {s for u in seen.unknown for s in u.suggestions}
    items = {i: catalogue.items[i] for i in suggestions if i in catalogue.items}
    return render.help_answer(scene=target, popular=catalogue.scene_items(target)[:5],
                              examples=catalogue.scene_items(source)[:2], unknown=seen.unknown,
                              notes=notes, items=items, language=seen.latest.language)


def _list(items: list[Item]) -> str:
    names = [shown_title(i) for i in items[:6]] + ([f"{len(items) - 6} more"] if len(items) > 6 else [])
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# -- the wire -----------------------------------------------------------------------------------
async def usage(state: ServerState, request: ChatCompletionRequest, text: str) -> Usage:
    """Tokens of the request's messages and of the answer, by the served model's tokenizer (an
    estimate where there is none: agent/llm/tokens.py)."""
    *prompt, completion = await state.service.tokens.count([*(m.text for m in request.messages), text])
    return Usage(prompt_tokens=sum(prompt), completion_tokens=completion, total_tokens=sum(prompt) + completion)


def _wire(result: Recommendation | None) -> RecommendationsResponse | None:
    return recommendations.to_wire(result) if result is not None else None


async def reply(state: ServerState, request: ChatCompletionRequest) -> ChatCompletion:
    """The answer sent whole."""
    result = await answer(state, request)
    return ChatCompletion(model=request.model, choices=[Choice(message=AssistantMessage(content=result.text))],
                          usage=await usage(state, request, result.text),
                          recommendations=_wire(result.recommendation), understood=result.understood)


async def chunks(state: ServerState, request: ChatCompletionRequest, result: ChatAnswer, *,
                 deadline: float | None = None) -> AsyncIterator[str]:
    """Server-sent events: the answer as it is written (``result.rest`` after ``result.text``), a
    closing chunk with the structured result, the usage chunk when ``stream_options.include_usage``
    is set, then ``[DONE]``. Past ``deadline`` (time.monotonic) the explanations left are given up
    and an error event in OpenAI's shape ends the stream, as does an error while writing."""
    with_usage = bool(request.stream_options and request.stream_options.include_usage)
    base = {"id": completion_id(), "created": int(time.time()), "model": request.model}

    def event(chunk: ChatCompletionChunk) -> str:
        data = chunk.model_dump(mode="json")
        for choice in data["choices"]:
            choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
        for extra in ("recommendations", "understood"):
            if data[extra] is None:
                del data[extra]
        if not with_usage:
            del data["usage"]
        return _sse(data)

    def content(text: str) -> str:
        return event(ChatCompletionChunk(**base, choices=[ChunkChoice(delta=Delta(content=text))]))

    yield event(ChatCompletionChunk(**base, choices=[ChunkChoice(delta=Delta(role="assistant", content=""))]))
    text = result.text
    for line in text.splitlines(keepends=True):
        yield content(line)
    try:
        while result.rest is not None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                piece = await asyncio.wait_for(anext(result.rest), left)
            except StopAsyncIteration:
                break
            text += piece
            yield content(piece)
    except Exception as exc:  # noqa: BLE001 - the status line is sent: the error goes in the stream
        timed_out = isinstance(exc, TimeoutError) and deadline is not None
        failure = RequestTimedOut(state.config.request_timeout_s) if timed_out else exc
        yield _sse({"error": error_payload(failure)[1].model_dump()})
        return
    finally:
        result.abandon()
    yield event(ChatCompletionChunk(**base, choices=[ChunkChoice(delta=Delta(), finish_reason="stop")],
                                    recommendations=_wire(result.recommendation), understood=result.understood))
    if with_usage:
        yield event(ChatCompletionChunk(**base, choices=[], usage=await usage(state, request, text)))
    yield "data: [DONE]\n\n"


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"
