"""The service object every caller shares (CLI, evaluation, serve.py): a store, a model
connection and the recommender, opened once and closed cleanly."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from agent.fusion import FusionWeights
from agent.llm import LLMBackend, create_backend
from agent.recommender import Recommender
from agent.requests import Recommendation, RecommendRequest
from retrievers import Retriever, SceneStore
from scenebridge.settings import Settings, get_settings


def fusion_path(store: Path, dataset: str) -> Path:
    """Where fitted fusion weights for a dataset's scene pair live."""
    return store / "fusion" / f"{dataset}.json"


class Service:
    def __init__(self, retriever: Retriever, llm: LLMBackend | None, weights: FusionWeights):
        self.retriever = retriever
        self.llm = llm
        self.weights = weights
        self.recommender = Recommender(retriever, llm, weights=weights)

    async def recommend(self, request: RecommendRequest) -> Recommendation:
        return await self.recommender.recommend(request)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


def connect_llm(settings: Settings, llm_url: str | None) -> LLMBackend:
    """A backend for ``llm_url``, or for the local vLLM server (started if none answers)."""
    llm_url = llm_url or settings.llm_url
    if llm_url is None:
        from agent.llm_server import ensure_server

        llm_url = ensure_server(settings)
    return create_backend("openai", base_url=llm_url, timeout_s=settings.llm_timeout)


@asynccontextmanager
async def open_service(store: Path, *, dataset: str | None = None, llm_url: str | None = None,
                       use_llm: bool = True, settings: Settings | None = None):
    settings = settings or get_settings()
    retriever = Retriever(SceneStore(store), dataset)
    llm = connect_llm(settings, llm_url) if use_llm else None
    service = Service(retriever, llm, FusionWeights.load(fusion_path(store, retriever.dataset)))
    try:
        yield service
    finally:
        await service.aclose()
