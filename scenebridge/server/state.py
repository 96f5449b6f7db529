"""The one service object behind the routes, opened in the app's lifespan: the agent's Service
(store, model connection, recommender), what the chat layer knows of the store, the work queue,
the threads that parse and look titles up off the event loop, the model server's circuit breaker
(probed in the background: /health reports its last probe, never waits for one) and the model
names."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI, Request

from agent.explain import Explainer
from agent.llm import OpenAIBackend
from agent.llm.breaker import BreakerConfig, CircuitBreaker, GuardedBackend, time_left
from agent.llm.errors import LLMError
from agent.service import Service, open_service
from core.errors import NotFoundError, ScenebridgeError
from core.settings import get_settings
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.model_intent import IntentModel
from scenebridge.server.chat.parse import ReadingLimits
from scenebridge.server.config import ServerConfig
from scenebridge.server.limits import WorkQueue, bounded
from scenebridge.server.protocol import Health, ModelCard, ModelServerHealth, StoreHealth

T = TypeVar("T")

log = logging.getLogger("scenebridge.server")
MODEL = "scenebridge"


@dataclass
class ServerState:
    config: ServerConfig
    service: Service
    catalogue: ChatCatalogue
    queue: WorkQueue
    breaker: CircuitBreaker | None = None  # None: no model server
    reader: IntentModel | None = None  # an instruct model reading requests beside the rules (--chat-llm-url)
    # Parsing and title lookups: CPU work that must not hold the event loop (nor /health) up.
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "scenebridge-work"))
    created: int = field(default_factory=lambda: int(time.time()))

    # -- bounded work -----------------------------------------------------------------------------
    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on a worker thread (cancelling the wait drops it if not started)."""
        return await asyncio.get_running_loop().run_in_executor(self.workers, partial(function, *args))

    async def bounded(self, request: Request, work: Coroutine[Any, Any, T]) -> T:
        """The request's work within SCENEBRIDGE_REQUEST_TIMEOUT_S, cancelled if its client leaves."""
        return await bounded(request.receive, work, seconds=self.config.request_timeout_s)

    def reading_limits(self) -> ReadingLimits:
        """What reading this request's conversation may cost: titles, exclusions, and its time."""
        left = time_left()
        return ReadingLimits(titles=self.config.max_titles, exclusions=self.config.max_exclusions,
                             deadline=None if left is None else time.monotonic() + left)

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
        """From what is known: never waits on the model server or the work queue."""
        retriever = self.service.retriever
        if self.service.llm is None or self.breaker is None:
            server = ModelServerHealth(url=None, state="disabled", detail="started without a model server: "
                                       "ranked by candidate scores")
        else:
            server = self.model_server()
        info = retriever.info
        store = StoreHealth(dataset=retriever.dataset, scenes=info.scenes, source=info.source, target=info.target,
                            items=len(self.catalogue.items))
        return Health(status="ok" if server.state == "ready" else "degraded", store=store, model_server=server,
                      explanations=self.config.explanations if self.service.llm else "evidence",
                      queue=self.queue.stats())

    def model_server(self) -> ModelServerHealth:
        """The breaker's view: its last probe, and whether it lets calls through."""
        breaker, url = self.breaker, self.llm_url
        probe = breaker.last_probe
        if probe is not None and probe.ok and not breaker.is_open:
            return ModelServerHealth(url=url, state="ready", models=probe.models)
        reason = breaker.reason or (probe.detail if probe else "not probed yet")
        checked = f", checked {time.time() - probe.at:.0f} s ago" if probe else ""
        return ModelServerHealth(url=url, state="unreachable", detail=f"{reason}{checked}; recommendations fall "
                                 "back to candidate scores and explanations to the evidence until it answers")


def guard_model(service: Service, config: ServerConfig) -> CircuitBreaker | None:
    """Short model calls (SCENEBRIDGE_LLM_TIMEOUT_S, _LLM_RETRIES), all through one circuit breaker."""
    llm = service.llm
    if llm is None:
        return None
    if isinstance(llm, OpenAIBackend):
        llm.set_limits(timeout_s=config.llm_timeout_s, max_retries=config.llm_retries)
    url = getattr(getattr(llm, "config", None), "base_url", None) or "the model server"
    breaker = CircuitBreaker(url, BreakerConfig(probe_interval_s=config.probe_interval_s,
                                                probe_timeout_s=config.health_timeout_s))
    guarded = GuardedBackend(llm, breaker)
    service.llm = service.recommender.llm = guarded
    if service.recommender.explainer.llm is not None:  # explanations worded by the model
        service.recommender.explainer.llm = guarded
    return breaker


def warm_up(service: Service) -> ChatCatalogue:
    """Load what the first request would otherwise wait for: every history as matrices, the
    backbones of the store's scene pair and of its reverse (a chat asking for the source scene:
    "any comedies?"), each chosen on validation users now if the store has none (about a minute
    at ML-1M size, once: inside a request it ran past the 30 s deadline), the title index, and the
    MiniLM model behind free-text search."""
    from agent.candidates import load_scene_data
    from agent.selection import ensure_backbone

    data = load_scene_data(service.retriever)
    if data.source and data.target:
        for source, target in ((data.source, data.target), (data.target, data.source)):
            started = time.perf_counter()
            choice = ensure_backbone(data, source, target, progress=False)
            log.info("backbone for %s -> %s: %s (default ranker %s) in %.1f s", source, target,
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
            breaker = guard_model(service, config)
            reader = (IntentModel(config.chat_llm_url, model=config.chat_llm_model,
                                  timeout_s=config.chat_llm_timeout_s) if config.chat_llm_url else None)
            state = ServerState(config=config, service=service, catalogue=catalogue, breaker=breaker, reader=reader,
                                queue=WorkQueue(config.max_concurrent, config.max_queue, config.queue_timeout_s))
            app.state.scenebridge = state
            watch = None
            if breaker is not None:
                await breaker.probe()  # known before the first request
                if breaker.last_probe is not None and breaker.last_probe.ok:  # never wait on a stalled one
                    await learn_model_name(service)
                watch = asyncio.create_task(breaker.watch(), name="model-server-probe")
            log.info("scenebridge ready in %.1f s: store %s (%s), model server %s, requests read by %s",
                     time.perf_counter() - started, store, ", ".join(service.retriever.scenes), state.llm_url or "none",
                     f"the rules and {config.chat_llm_url}" if reader else "the rules")
            try:
                yield
            finally:
                if watch is not None:
                    watch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watch
                state.workers.shutdown(wait=False, cancel_futures=True)
    except ScenebridgeError as exc:
        log.error("cannot start: %s", exc)
        raise


async def learn_model_name(service: Service) -> None:
    """The served model's name, asked once at start-up: answers name it, and nothing else may ask
    before the first one is written (the backbone and evidence sentences call no model)."""
    resolve = getattr(getattr(service.llm, "inner", service.llm), "resolve_model", None)
    if resolve is not None:
        try:
            await resolve()
        except LLMError as exc:  # not answering yet: learnt on the first call that reaches it
            log.warning("the model server did not name its model: %s", exc)


def get_state(request: Request) -> ServerState:
    return request.app.state.scenebridge
