"""The one service object behind the routes, opened in the app's lifespan: the agent's Service
(store, model connection, recommender), what the chat layer knows of the store, the work queue
and the model names."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request

from agent.explain import Explainer
from agent.service import Service, open_service
from core.errors import NotFoundError, ScenebridgeError
from core.settings import get_settings
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.config import ServerConfig
from scenebridge.server.limits import WorkQueue
from scenebridge.server.protocol import Health, ModelCard, ModelServerHealth, StoreHealth

log = logging.getLogger("scenebridge.server")
MODEL = "scenebridge"


@dataclass
class ServerState:
    config: ServerConfig
    service: Service
    catalogue: ChatCatalogue
    queue: WorkQueue
    created: int = field(default_factory=lambda: int(time.time()))

    # -- models -----------------------------------------------------------------------------------
    @property
    def models(self) -> list[ModelCard]:
        cards = [ModelCard(id=MODEL, created=self.created)]
        for scene in self.service.retriever.scenes:
            cards.append(ModelCard(id=f"{MODEL}:{self.catalogue.scenes.alias(scene)}", created=self.created,
                                   scene=scene))
        return cards

    def model(self, name: str) -> ModelCard:
        for card in self.models:
            if card.id == name.strip().lower():
                return card
        raise NotFoundError("model", name, hint="the models are " + ", ".join(c.id for c in self.models))

    def scene(self, text: str) -> str:
        """A scene by name or synonym ("science fiction" -> "Sci-Fi"); raises NotFoundError."""
        return self.catalogue.scenes.lookup(text) or self.service.retriever.check_scene(text.strip())

    # -- health -----------------------------------------------------------------------------------
    @property
    def llm_url(self) -> str | None:
        config = getattr(self.service.llm, "config", None)
        return getattr(config, "base_url", None)

    async def health(self) -> Health:
        from agent.llm.server import served_models

        retriever = self.service.retriever
        if self.service.llm is None:
            server = ModelServerHealth(url=None, state="disabled", detail="started without a model server: "
                                       "ranked by candidate scores")
        else:
            try:
                models = await asyncio.to_thread(served_models, self.llm_url, self.config.health_timeout_s)
                server = ModelServerHealth(url=self.llm_url, state="ready", models=models)
            except ScenebridgeError as exc:
                server = ModelServerHealth(url=self.llm_url, state="unreachable",
                                           detail=f"{exc.message}; recommendations fall back to candidate scores")
        info = retriever.info
        store = StoreHealth(dataset=retriever.dataset, scenes=info.scenes, source=info.source, target=info.target,
                            items=len(self.catalogue.items))
        return Health(status="ok" if server.state == "ready" else "degraded", store=store, model_server=server,
                      explanations=self.config.explanations if self.service.llm else "evidence",
                      queue=self.queue.stats())


def warm_up(service: Service) -> ChatCatalogue:
    """Load what the first request would otherwise wait for: every history as matrices, the
    backbone of the store's scene pair (chosen on validation users now if the store has none: about
    a minute at ML-1M size, once), the title index, and the MiniLM model behind free-text search."""
    from agent.candidates import load_scene_data
    from agent.selection import ensure_backbone

    data = load_scene_data(service.retriever)
    if data.source and data.target:
        started = time.perf_counter()
        choice = ensure_backbone(data, data.source, data.target, progress=False)
        log.info("backbone for %s -> %s: %s (default ranker %s) in %.1f s", data.source, data.target,
                 choice.backbone, choice.default_ranker, time.perf_counter() - started)
    catalogue = ChatCatalogue.build(service.retriever)
    service.retriever.search("warm up the text embedding model", k=1)
    return catalogue


@asynccontextmanager
async def lifespan(app: FastAPI):
    config: ServerConfig = app.state.config
    store = config.store_dir or get_settings().store_path
    started = time.perf_counter()
    try:
        async with open_service(store, dataset=config.dataset, llm_url=config.llm_url,
                                use_llm=config.use_llm) as service:
            if config.explanations == "evidence":
                service.recommender.explainer = Explainer(None)  # the evidence sentence, no model call
            catalogue = await asyncio.to_thread(warm_up, service)
            app.state.scenebridge = ServerState(
                config=config, service=service, catalogue=catalogue,
                queue=WorkQueue(config.max_concurrent, config.max_queue, config.queue_timeout_s))
            log.info("scenebridge ready in %.1f s: store %s (%s), model server %s", time.perf_counter() - started,
                     store, ", ".join(service.retriever.scenes), app.state.scenebridge.llm_url or "none")
            yield
    except ScenebridgeError as exc:
        log.error("cannot start: %s", exc)
        raise


def get_state(request: Request) -> ServerState:
    return request.app.state.scenebridge
