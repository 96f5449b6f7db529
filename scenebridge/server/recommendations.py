"""``POST /v1/recommendations``: the structured request, checked field by field (so an unknown
user, scene or item names its parameter), turned into the domain request for the shared service;
the domain result goes back as the wire's ``RecommendationsResponse`` (the chat answer carries
the same). The checks look titles up in the store (tens of ms each): they run on a worker
thread, not on the event loop."""

from __future__ import annotations

from functools import partial

from agent.llm.breaker import time_left
from agent.requests import Recommendation, RecommendRequest
from core.errors import NotFoundError
from scenebridge.server.protocol import RecommendationsRequest, RecommendationsResponse
from scenebridge.server.state import ServerState


async def recommend(state: ServerState, body: RecommendationsRequest) -> RecommendationsResponse:
    request = await state.off_loop(_checked, state, body)
    async with state.queue.slot(timeout=time_left()):
        return to_wire(await state.service.recommend(request))


def _checked(state: ServerState, body: RecommendationsRequest) -> RecommendRequest:
    """The domain request, once every name in it is known (NotFoundError names the parameter)."""
    retriever = state.service.retriever
    target = _scene(state, body.target_scene, "target_scene")
    source = _scene(state, body.source_scene, "source_scene") if body.source_scene else None
    if body.user_id is not None:
        retriever.check_user(body.user_id)
    for n, title in enumerate(body.likes):
        _named(partial(retriever.resolve, title), f"likes[{n}]")
    if body.candidates is not None:
        _named(lambda: retriever.items(body.candidates), "candidates")
    return RecommendRequest.model_validate({**body.model_dump(), "target_scene": target, "source_scene": source})


def to_wire(result: Recommendation) -> RecommendationsResponse:
    """The domain result as the wire carries it: the same fields, read into the wire's models."""
    return RecommendationsResponse.model_validate(result, from_attributes=True)


def _scene(state: ServerState, text: str, param: str) -> str:
    return _named(lambda: state.scene(text), param)


def _named(call, param: str):
    try:
        return call()
    except NotFoundError as exc:
        exc.param = param
        raise
