"""The service object every caller shares (CLI, evaluation, serve.py): a store, a model
connection and the recommender, opened once and closed cleanly."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

from agent.candidates import SceneData, score_candidates
from agent.cases import Case
from agent.fusion import FusionWeights
from agent.llm import LLMBackend, create_backend
from agent.llm.tokens import TokenCounter
from agent.rankers import RankingRequest
from agent.recommender import Explaining, Recommender
from agent.requests import Recommendation, RecommendRequest
from core.errors import ScenebridgeError
from core.settings import Settings, get_settings
from retrievers import Retriever, SceneStore


def fusion_path(store: Path, dataset: str, model: str | Path | None = None) -> Path:
    """Where fitted fusion weights for a dataset's scene pair live: beside the store for the
    packaged models, inside the model's directory for a tuned one (the LLM's weight depends on
    the model it was fitted with)."""
    if model is not None and Path(model).expanduser().is_dir():
        return Path(model).expanduser() / "fusion" / f"{dataset}.json"
    return store / "fusion" / f"{dataset}.json"


class Service:
    def __init__(self, retriever: Retriever, llm: LLMBackend | None, weights: FusionWeights,
                 weights_path: Path | None = None, *, progress: bool = False, models_dir: Path | None = None):
        self.retriever = retriever
        self.llm = llm
        self._backend = llm  # as connected (a server may wrap ``llm``): it can ask the server its model
        self.weights = weights
        self.weights_path = weights_path  # where fit-hybrid saves weights for this model
        self.recommender = Recommender(retriever, llm, weights=weights, progress=progress)
        self.tokens = TokenCounter(self.served_model, models_dir or get_settings().models_dir)

    async def recommend(self, request: RecommendRequest) -> Recommendation:
        return await self.recommender.recommend(request)

    async def start(self, request: RecommendRequest) -> Explaining:
        """``recommend`` for answers sent as they are written: the ranking now, the explanations
        under way (``Explaining``: each item in rank order as its explanation is ready)."""
        return await self.recommender.start(request)

    async def served_model(self) -> str | None:
        """The model the model server serves (asked of it when not configured); None: no server.
        Bounded: raises when the server does not say within 5 s."""
        if self._backend is None:
            return None
        resolve = getattr(self._backend, "resolve_model", None)  # the OpenAI backend asks /v1/models
        if resolve is None:
            return self._backend.model
        return await asyncio.wait_for(resolve(), timeout=5.0)

    def case_request(self, data: SceneData, case: Case, *, support: bool = False) -> RankingRequest:
        """The ranking request ``recommend`` would build for a held-out case: its candidates in the
        case's seeded order, the source history, and the target history the protocol leaves visible;
        ``support``: with the backbone's best candidates' collaborative evidence (the rerank prompt)."""
        evidence = case.evidence
        source, target = evidence.source_scene, evidence.target_scene
        candidates = score_candidates(data, evidence, list(case.order))
        target_history = data.history(case.user_id, target)[: len(evidence.target_history)]
        return self.recommender.ranking_request(
            RecommendRequest(user_id=case.user_id, target_scene=target), candidates, evidence,
            data.history(case.user_id, source), target_history, support_from=data if support else None)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


def connect_llm(settings: Settings, llm_url: str | None, model: str | Path | None = None) -> LLMBackend:
    """A backend for ``llm_url``, or for the local vLLM server (started if none answers).
    ``model`` (a packaged name or a model directory) must be what the server serves."""
    from agent.llm.server import check_serves, ensure_server, model_name

    llm_url = llm_url or settings.llm_url
    if llm_url is None:
        llm_url = ensure_server(settings, model=model)
    elif model is not None:
        check_serves(llm_url, model)
    return create_backend("openai", base_url=llm_url, model=model_name(model) if model else None,
                          timeout_s=settings.llm_timeout)


@asynccontextmanager
async def open_service(store: Path, *, dataset: str | None = None, llm_url: str | None = None,
                       use_llm: bool = True, model: str | Path | None = None, settings: Settings | None = None,
                       progress: bool = False, fusion: Path | None = None):
    """``model``: the model to rank with (packaged name or tuned directory; default: the
    configured one); it also picks the fusion weights fitted for it, unless ``fusion`` names a
    weights file. ``progress``: show a bar when the store's backbone must be fitted before the
    first answer."""
    settings = settings or get_settings()
    retriever = Retriever(SceneStore(store), dataset)
    llm = connect_llm(settings, llm_url, model) if use_llm else None
    weights_path = fusion_path(store, retriever.dataset, model or settings.llm_model)
    if fusion is not None and not Path(fusion).is_file():
        raise ScenebridgeError(f"no fusion weights file {fusion}", param="fusion",
                               hint="give a JSON written by fit-hybrid (weights, fitted, fitted_on)")
    weights = FusionWeights.load(Path(fusion) if fusion is not None else weights_path)
    service = Service(retriever, llm, weights, weights_path, progress=progress, models_dir=settings.models_dir)
    try:
        yield service
    finally:
        await service.aclose()
