"""``POST /v1/recommendations``: the structured request, checked field by field (so an unknown
user, scene or item names its parameter), then the shared service."""

from __future__ import annotations

from agent.requests import Recommendation, RecommendRequest
from core.errors import NotFoundError
from scenebridge.server.protocol import RecommendationsRequest
from scenebridge.server.state import ServerState


async def recommend(state: ServerState, body: RecommendationsRequest) -> Recommendation:
    retriever = state.service.retriever
    target = _scene(state, body.target_scene, "target_scene")
    source = _scene(state, body.source_scene, "source_scene") if body.source_scene else None
    if body.user_id is not None:
        retriever.check_user(body.user_id)
    for n, title in enumerate(body.likes):
        _named(lambda: retriever.resolve(title), f"likes[{n}]")
    if body.candidates is not None:
        _named(lambda: retriever.items(body.candidates), "candidates")
    request = RecommendRequest(
        user_id=body.user_id, likes=body.likes, target_scene=target, source_scene=source,
        candidates=body.candidates, k=body.k, explain=body.explain, exclude=body.exclude, ranker=body.ranker)
    async with state.queue.slot():
        return await state.service.recommend(request)


def _scene(state: ServerState, text: str, param: str) -> str:
    return _named(lambda: state.scene(text), param)


def _named(call, param: str):
    try:
        return call()
    except NotFoundError as exc:
        exc.param = param
        raise
