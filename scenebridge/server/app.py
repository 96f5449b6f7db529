"""The FastAPI app: the routes, the error handlers and the middleware put together.

``serve.py`` at the top of the repository is the entry point that runs it; ``scenebridge serve``
calls ``run`` here.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from scenebridge import __version__
from scenebridge.server import errors
from scenebridge.server.auth import ApiKeyAuth
from scenebridge.server.config import ServerConfig
from scenebridge.server.limits import BodyLimit
from scenebridge.server.routes import router
from scenebridge.server.state import lifespan


def create_app(config: ServerConfig | None = None, **overrides) -> FastAPI:
    """The app; ``overrides`` are ServerConfig fields (``store_dir=…, llm_url=…``)."""
    config = config.model_copy(update=overrides) if config else ServerConfig(**overrides)
    app = FastAPI(title="scenebridge", version=__version__, lifespan=lifespan,
                  description="Cross-scene recommendations ranked and explained by a local LLM, "
                  "behind an OpenAI-compatible API.")
    app.state.config = config
    errors.install(app)
    app.include_router(router)
    # The last added runs first: the key is checked before the body is read.
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    app.add_middleware(ApiKeyAuth, key=config.api_key)
    return app


def run(config: ServerConfig, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
