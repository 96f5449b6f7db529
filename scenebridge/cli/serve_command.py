"""``scenebridge serve``: the OpenAI-compatible endpoint (serve.py) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from scenebridge.cli._common import ChromaUrlOption, DatasetOption, StoreOption, store_path
from scenebridge.cli.recommend_command import LlmUrlOption


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface "
                                      "(set SCENEBRIDGE_API_KEY then).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    llm_url: LlmUrlOption = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="No model server: rank by candidate scores, "
                                         "explain from the evidence.")] = False,
    explanations: Annotated[str, typer.Option("--explanations", help="evidence: a sentence built from "
                                              "the evidence, no model call; llm: the model words each "
                                              "explanation, used where it passes the checks (seconds "
                                              "each on a CPU).")] = "evidence",
    chat_llm_url: Annotated[str | None, typer.Option("--chat-llm-url", help="An instruct model (OpenAI-compatible, "
                                                     "…/v1) that reads chat requests beside the rules, e.g. "
                                                     "http://127.0.0.1:8012/v1 from 'scenebridge llm serve "
                                                     "--chat'; unset: the rules alone.")] = None,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent", min=1, help="Recommendations "
                                                       "computed at once (default 2); more wait in a queue.")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug | info | warning | error")] = "info",
) -> None:
    """Serve recommendations over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models,
    /v1/recommendations, /health). The key comes from SCENEBRIDGE_API_KEY, never a flag."""
    from core.errors import ScenebridgeError
    from retrievers import Retriever, SceneStore
    from scenebridge.server.app import run
    from scenebridge.server.config import ServerConfig

    if explanations not in ("llm", "evidence"):
        raise ScenebridgeError(f"unknown --explanations {explanations!r}", hint="use llm or evidence",
                               param="explanations")
    path = store_path(store)
    location = Retriever(SceneStore(path), dataset).store.location  # a missing or unfinished store fails here
    overrides: dict[str, object] = {"store_dir": path, "explanations": explanations}
    if llm_url:
        overrides["llm_url"] = llm_url
    if dataset:
        overrides["dataset"] = dataset
    if no_llm:
        overrides["use_llm"] = False
    if max_concurrent:
        overrides["max_concurrent"] = max_concurrent
    if chat_llm_url:
        overrides["chat_llm_url"] = chat_llm_url
    config = ServerConfig(**overrides)
    key = "required (SCENEBRIDGE_API_KEY)" if config.api_key else "none"
    typer.echo(f"scenebridge serving {location} on http://{host}:{port}/v1 (API key: {key})", err=True)
    run(config, host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command()(serve)
