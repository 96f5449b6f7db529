"""The FastAPI app: the routes, the error handlers and the middleware put together.

``serve.py`` at the top of the repository is the entry point that runs it; ``scenebridge serve``
calls ``run`` here.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus

from fastapi import FastAPI

from scenebridge import __version__
from scenebridge.server import errors
from scenebridge.server.auth import ApiKeyAuth, exposure_warning
from scenebridge.server.config import ServerConfig
from scenebridge.server.limits import BodyLimit
from scenebridge.server.protocol import ErrorResponse
from scenebridge.server.routes import router
from scenebridge.server.state import lifespan

log = logging.getLogger("scenebridge.server")


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
    app.add_middleware(BodyLimit, limit=config.max_body_bytes, timeout=config.body_timeout_s)
    app.add_middleware(ApiKeyAuth, key=config.api_key)
    return app


def http_protocol() -> type:
    """uvicorn's HTTP protocol, except that a request its parser refuses (a Content-Length that is
    not a number, a broken request line) is answered in OpenAI's error shape, not uvicorn's
    plain-text 400: the app never sees such a request."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class OpenAIShapedProtocol(AutoHTTPProtocol):
        def send_400_response(self, msg: str) -> None:
            refused = sys.exc_info()[1]  # the parser's error: uvicorn calls this while handling it
            status, info = errors.malformed_http(str(refused) if refused else "")
            body = ErrorResponse(error=info).model_dump_json().encode()
            head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
            self.transport.write(head.encode() + body)
            self.transport.close()

    return OpenAIShapedProtocol


def run(config: ServerConfig, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    from scenebridge.server.launcher import uvicorn_limits

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    warning = exposure_warning(host, config.api_key)
    if warning:  # loudly: in the log and on the terminal, whatever the log level
        log.warning(warning)
        print(f"\n{warning}\n", file=sys.stderr, flush=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10,
                http=http_protocol(), **uvicorn_limits(config))
