"""The routes: HTTP in, one call to the serving code, HTTP out. Nothing else happens here: the
work runs bounded (a deadline, cancelled when the client goes away: ServerState.bounded). A
streamed answer goes on after its route returns: the stream keeps the request's deadline, and
when its client leaves (Starlette stops the stream) what is left of the work is given up."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from scenebridge.server import recommendations
from scenebridge.server.chat import serving as chat
from scenebridge.server.protocol import (
    ChatCompletion,
    ChatCompletionRequest,
    ErrorResponse,
    Health,
    ModelCard,
    ModelList,
    RecommendationsRequest,
    RecommendationsResponse,
)
from scenebridge.server.state import ServerState, get_state

ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 404, 408, 413, 500, 503, 504)}
router = APIRouter(responses=ERRORS)


@router.get("/health", response_model=Health)
async def health(state: ServerState = Depends(get_state)) -> Health:
    return await state.health()


@router.get("/v1/models", response_model=ModelList)
async def list_models(state: ServerState = Depends(get_state)) -> ModelList:
    return ModelList(data=state.models)


@router.get("/v1/models/{model}", response_model=ModelCard)
async def get_model(model: str, state: ServerState = Depends(get_state)) -> ModelCard:
    return state.model(model)


@router.post("/v1/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}}}})
async def chat_completions(body: ChatCompletionRequest, request: Request, state: ServerState = Depends(get_state)):
    if not body.stream:
        return await state.bounded(request, chat.reply(state, body))
    deadline = time.monotonic() + state.config.request_timeout_s
    answer = await state.bounded(request, chat.answer(state, body))
    return StreamingResponse(chat.chunks(state, body, answer, deadline=deadline), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                             background=BackgroundTask(answer.abandon))  # also run when the client left


@router.post("/v1/recommendations", response_model=RecommendationsResponse)
async def recommend(body: RecommendationsRequest, request: Request,
                    state: ServerState = Depends(get_state)) -> RecommendationsResponse:
    return await state.bounded(request, recommendations.recommend(state, body))
