"""The vLLM server lifecycle: its launch line, readiness, failures with their log, stopping a
process group, and one real vLLM server started, queried with the official client and stopped."""

import json
import os
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest

from agent.llm.errors import LLMTimeout, LLMUnavailable
from agent.llm.models import BASE_CHAT_TEMPLATE, DEFAULT_MODEL
from agent.llm.server import (
    LLMServer,
    check_serves,
    ensure_server,
    find_server,
    group_members,
    is_ready,
    normalize_url,
    start_server,
    stop_server,
    wait_ready,
)
from core.errors import ScenebridgeError
from core.settings import Settings, get_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def openai_stub():
    """A real HTTP server that lists one model at /v1/models, as an OpenAI server does."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/v1/models"
            body = json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(body.encode() if ok else b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def model_dir(tmp_path) -> Path:
    directory = tmp_path / "models" / "tiny"
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    return directory


def test_launch_line_and_environment(model_dir, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    server = LLMServer(model_dir=model_dir, served_name="tiny", port=8099, kv_cache_gib=1.5,
                       chat_template=BASE_CHAT_TEMPLATE, vllm_python=Path("/v/bin/python"))
    command = server.command()
    assert command[:3] == ["/v/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    flags = {flag: value for flag, value in zip(command, command[1:]) if flag.startswith("--")}
    assert flags["--model"] == str(model_dir) and flags["--served-model-name"] == "tiny"
    assert flags["--port"] == "8099" and flags["--max-model-len"] == "2048"
    assert flags["--chat-template"] == str(BASE_CHAT_TEMPLATE) and BASE_CHAT_TEMPLATE.exists()
    assert "--enable-prefix-caching" in command and "processed_logprobs" in command
    env = server.environment()
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1.5" and env["HF_HUB_OFFLINE"] == "1"
    assert env["VLLM_NO_USAGE_STATS"] == "1" and "PYTHONPATH" not in env
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"  # the model on every core
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "0")
    assert server.environment()["VLLM_CPU_OMP_THREADS_BIND"] == "0"  # the caller's choice wins
    assert LLMServer.model_validate_json(server.model_dump_json()) == server
    assert server.url == "http://127.0.0.1:8099/v1"


def test_a_lora_tuned_model_is_served_as_base_plus_adapter(model_dir, tmp_path):
    from agent.llm.models import MARKER
    from agent.llm.server import LoRAAdapter, tuned_adapter

    tuned = tmp_path / "tuned"
    (tuned / "adapter").mkdir(parents=True)
    (tuned / MARKER).write_text(json.dumps({"name": "my-tuned", "tuned_from": "gemma-3-270m"}))
    with pytest.raises(ScenebridgeError, match="no LoRA adapter"):
        tuned_adapter(tuned)
    (tuned / "adapter" / "adapter_config.json").write_text(json.dumps({"r": 12}))
    base, adapter = tuned_adapter(tuned)
    assert base == "gemma-3-270m" and adapter == LoRAAdapter(name="my-tuned", path=tuned / "adapter", rank=12)
    command = LLMServer(model_dir=model_dir, served_name="tiny", adapter=adapter,
                        vllm_python=Path("/v/bin/python")).command()
    flags = {flag: value for flag, value in zip(command, command[1:]) if flag.startswith("--")}
    assert "--enable-lora" in command and flags["--lora-modules"] == f"my-tuned={tuned / 'adapter'}"
    assert flags["--max-lora-rank"] == "16"  # the next rank vLLM accepts


def test_settings_fields():
    settings = Settings(llm_port=8123, cache_dir=Path("/c"))
    assert settings.local_llm_url == "http://127.0.0.1:8123/v1"
    assert settings.logs_dir == Path("/c/logs") and settings.models_dir == Path("/c/models")
    assert settings.vllm_python.parts[-3:] == (".venv-vllm", "bin", "python")
    assert settings.llm_model == DEFAULT_MODEL and settings.llm_url is None


def test_urls_and_readiness(openai_stub):
    assert normalize_url("http://h:1") == "http://h:1/v1" == normalize_url("http://h:1/v1/")
    assert is_ready(openai_stub) and is_ready(openai_stub + "/v1")
    assert not is_ready(f"http://127.0.0.1:{free_port()}/v1")
    check_serves(openai_stub + "/v1", "stub-model")
    with pytest.raises(ScenebridgeError, match="serves stub-model, not gemma-3-270m"):
        check_serves(openai_stub + "/v1", DEFAULT_MODEL)


def test_ensure_server_with_a_given_url(openai_stub, tmp_path):
    settings = Settings(cache_dir=tmp_path)
    assert ensure_server(settings, llm_url=openai_stub) == openai_stub + "/v1"
    down = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMUnavailable, match=f"model server at {down} is down") as error:
        ensure_server(settings, llm_url=down)
    assert "SCENEBRIDGE_LLM_URL" in error.value.hint
    assert ensure_server(Settings(cache_dir=tmp_path, llm_url=openai_stub)) == openai_stub + "/v1"


def test_ensure_server_reuses_what_answers_locally(openai_stub, tmp_path):
    port = int(openai_stub.rsplit(":", 1)[1])
    settings = Settings(cache_dir=tmp_path, llm_port=port)
    assert ensure_server(settings, model="stub-model") == openai_stub + "/v1"


def test_a_server_that_dies_reports_its_log(model_dir, tmp_path):
    # The app's python has no vllm: the process exits at once, as a broken install would.
    process = start_server(model_dir, "tiny", free_port(), log_path=tmp_path / "logs" / "v.log",
                           vllm_python=Path(sys.executable))
    assert process.pid_file.exists() and process.config.chat_template == BASE_CHAT_TEMPLATE
    with pytest.raises(LLMUnavailable, match="exited") as error:
        wait_ready(process.url, process, timeout=60, progress=False)
    assert "No module named 'vllm'" in error.value.message
    assert not stop_server(process) and not process.pid_file.exists()


def test_wait_ready_times_out():
    started = time.monotonic()
    with pytest.raises(LLMTimeout, match="did not answer within 1 s"):
        wait_ready(f"http://127.0.0.1:{free_port()}/v1", None, timeout=1, progress=False)
    assert time.monotonic() - started < 10


def first_line(fifo: Path, timeout: float) -> str:
    """The first line a writer puts in ``fifo``: select wakes when it writes (no polling loop);
    ``timeout`` only bounds a writer that never comes."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        data, deadline = b"", time.monotonic() + timeout
        while b"\n" not in data:
            readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                raise TimeoutError(f"nothing written to {fifo} within {timeout:.0f} s")
            chunk = os.read(fd, 256)
            if not chunk:  # the writer closed
                break
            data += chunk
        return data.decode().strip()
    finally:
        os.close(fd)


def test_stop_kills_the_whole_process_group(model_dir, tmp_path):
    # A stand-in for vLLM: a shell that starts a worker and waits, like the API server does; it
    # says when the worker is started by writing the worker's pid to a FIFO.
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > '{ready}'\nwait\n")
    fake.chmod(0o755)
    port = free_port()
    started = start_server(model_dir, "tiny", port, log_path=tmp_path / "logs" / f"vllm-{port}.log",
                           vllm_python=fake, detach=True)
    worker = int(first_line(ready, timeout=120))  # the shell has exec'd and started its worker
    assert set(group_members(started.pid)) == {started.pid, worker}
    found = find_server(port, tmp_path / "logs")  # as `scenebridge llm stop` finds it: by pid file
    assert found is not None and found.pid == started.pid and found.popen is None
    assert stop_server(found, timeout=5)
    started.popen.wait(timeout=5)
    assert group_members(started.pid) == []  # the worker is gone too
    assert find_server(port, tmp_path / "logs") is None and not found.pid_file.exists()


@pytest.mark.live_llm
@pytest.mark.slow
def test_real_vllm_server_end_to_end():
    """ensure_server prepares (cached), starts vLLM detached on a free port and waits; the official
    client gets a completion and a chat answer (base template); stop_server ends it."""
    base = get_settings()
    if not base.vllm_python.exists():
        pytest.skip(f"no vLLM environment at {base.vllm_python} (scripts/setup.sh makes it)")
    settings = base.model_copy(update={"llm_port": free_port(), "llm_url": None})
    started = time.monotonic()
    url = ensure_server(settings, progress=False)
    ready_s = time.monotonic() - started
    process = find_server(settings.llm_port, settings.logs_dir)
    try:
        assert url == settings.local_llm_url and process is not None
        client = openai.OpenAI(base_url=url, api_key="EMPTY", timeout=120)
        completion = client.completions.create(model=DEFAULT_MODEL, prompt="The capital of France is",
                                               max_tokens=5, temperature=0)
        assert completion.choices[0].text.strip() and completion.usage.completion_tokens <= 5
        chat = client.chat.completions.create(model=DEFAULT_MODEL, max_tokens=5, temperature=0,
                                              messages=[{"role": "user", "content": "Say hello."}])
        assert chat.usage.prompt_tokens > 3
        again = time.monotonic()
        assert ensure_server(settings, progress=False) == url and time.monotonic() - again < 5
    finally:
        if process is not None:
            assert stop_server(process)
    assert not is_ready(url) and find_server(settings.llm_port, settings.logs_dir) is None
    process.log_path.unlink()  # one log per random port: do not let them pile up
    print(f"vLLM ready in {ready_s:.0f} s")
