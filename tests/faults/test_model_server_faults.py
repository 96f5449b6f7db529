"""The real vLLM server broken on purpose, with ``scenebridge serve`` in front of it at its
default limits: stopped (SIGSTOP) in the middle of a request, its engine stalled while its API
still answers, slowed (stopped and continued in turns), and killed. Each asserts that answers
come within a bounded time and say why the model's part is missing; every stopped process is
continued (SIGCONT) in a ``finally``.

Run these alone, never beside other ``live_llm`` tests: they stop the shared vLLM server (the
``llm_url`` fixture's) for seconds at a time. The kill test starts and kills a vLLM of its own.

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -m faults tests/faults

Targets (docs/serving.md, "Bounded work and failing model servers"): with the model server
stopped, the first answer within 5 s and the rest at once until it returns; back to the model
within 10 s of its return; no answer ever later than the request deadline (30 s)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import psutil
import pytest

from scenebridge.server.launcher import free_port, stop
from tests.server.conftest import Server, start_server

pytestmark = [pytest.mark.faults, pytest.mark.live_llm, pytest.mark.slow]

FIRST_ANSWER_S = 5.0  # the target with the model server stopped
SLACK_S = 3.0  # a busy 2-core machine: scheduling, not design
REQUEST_TIMEOUT_S = 30.0  # ServerConfig.request_timeout_s's default
RECOVERY_S = 10.0
ASK = {"model": "scenebridge:sci-fi", "k": 3,
       "messages": [{"role": "user", "content": "I loved Groundhog Day and Annie Hall"}]}
NOTES = ("not answering", "took longer", "being tried again")


# -- the processes -------------------------------------------------------------------------------
def vllm_processes(url: str) -> list[psutil.Process]:
    """The vLLM server answering at ``url``: its API server process first, then its children
    (the engine core and its helpers)."""
    from agent.llm.server import find_server
    from core.settings import get_settings

    port = urlparse(url).port
    found = find_server(port, get_settings().logs_dir)
    if found is not None:
        root = psutil.Process(found.pid)
    else:  # started by someone else: whoever listens on the port
        listening = [c.pid for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid]
        if not listening:
            pytest.skip(f"cannot find the process of the model server at {url}")
        root = psutil.Process(listening[0])
    return [root, *root.children(recursive=True)]


def send(processes: list[psutil.Process], sig: int) -> None:
    for process in processes:
        try:
            os.kill(process.pid, sig)
        except ProcessLookupError:
            pass


@contextmanager
def stopped(processes: list[psutil.Process]) -> Iterator[None]:
    send(processes, signal.SIGSTOP)
    try:
        yield
    finally:
        send(processes, signal.SIGCONT)


@contextmanager
def slowed(processes: list[psutil.Process], stop_s: float = 0.7, run_s: float = 0.3) -> Iterator[None]:
    """Stopped ``stop_s`` of every ``stop_s + run_s`` seconds, in a thread, until the block ends."""
    done = threading.Event()

    def cycle():
        while not done.is_set():
            send(processes, signal.SIGSTOP)
            done.wait(stop_s)
            send(processes, signal.SIGCONT)
            done.wait(run_s)

    thread = threading.Thread(target=cycle, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(10)
        send(processes, signal.SIGCONT)


# -- the client ----------------------------------------------------------------------------------
def ask(server: Server, body: dict = ASK) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=120)
    return time.monotonic() - started, response


def health(server: Server) -> tuple[float, dict]:
    started = time.monotonic()
    response = httpx.get(f"{server.url}/health", timeout=30)
    return time.monotonic() - started, response.json()


def sources(response: httpx.Response) -> set[str]:
    return {i["explanation_source"] for i in response.json()["recommendations"]["items"]}


def text(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def wait_ready(server: Server, within: float) -> float:
    started = time.monotonic()
    while health(server)[1]["model_server"]["state"] != "ready":
        assert time.monotonic() - started < within, f"the model server was not used again within {within} s"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def serving(store_path, llm_url, tmp_path_factory):
    """``scenebridge serve`` with model-worded explanations (the model calls under test) and its
    defaults otherwise (2 s probes, 10 s calls with one retry, 30 s per request) over the shared
    vLLM server."""
    process, server = start_server(store_path, llm_url, tmp_path_factory.mktemp("faults") / "server.log", key=None,
                                   extra=["--explanations", "llm"])
    try:
        yield server
    finally:
        stop(process)


# -- the faults ------------------------------------------------------------------------------------
def test_model_server_stopped_mid_request(serving, llm_url):
    processes = vllm_processes(llm_url)
    assert ask(serving)[1].status_code == 200  # warm: the prompts are in vLLM's prefix cache
    with ThreadPoolExecutor(1) as pool:
        try:
            pending = pool.submit(ask, serving)
            time.sleep(0.5)  # the explanations are being worded (seconds each on this CPU)
            send(processes, signal.SIGSTOP)
            stopped_at = time.monotonic()
            _, first = pending.result(timeout=120)
            first_s = time.monotonic() - stopped_at
            assert first.status_code == 200, first.text
            assert first_s < FIRST_ANSWER_S + SLACK_S, f"first answer {first_s:.1f} s after the stop"
            if "evidence" in sources(first):  # (it may have been finished before the stop)
                assert any(note in text(first) for note in NOTES), text(first)

            seconds, second = ask(serving)
            assert second.status_code == 200 and seconds < 2.0, f"{seconds:.1f} s with the breaker open"
            assert sources(second) == {"evidence"} and "not answering" in text(second)
            seconds, state = health(serving)
            assert seconds < 0.5 and state["model_server"]["state"] == "unreachable"
            assert "fall back" in state["model_server"]["detail"]
        finally:
            send(processes, signal.SIGCONT)
    waited = wait_ready(serving, RECOVERY_S)
    _, back = ask(serving)
    assert back.status_code == 200 and "not answering" not in text(back), f"after {waited:.1f} s"


def test_engine_stalled_while_its_api_answers(serving, llm_url):
    """The probe (GET /v1/models) passes, completions never come: each call gives up at its own
    timeout (10 s, one retry), the breaker opens on those failures, and no answer waits past the
    request deadline."""
    processes = vllm_processes(llm_url)
    engine = processes[1:]
    if not engine:
        pytest.skip("this vLLM runs its engine in the API server's process")
    try:
        with stopped(engine):
            seconds, first = ask(serving)
            assert first.status_code == 200, first.text
            assert seconds < REQUEST_TIMEOUT_S + SLACK_S, f"{seconds:.1f} s"
            assert sources(first) == {"evidence"} and any(note in text(first) for note in NOTES), text(first)
            seconds, second = ask(serving)
            assert second.status_code == 200 and seconds < 2.0, f"{seconds:.1f} s with the breaker open"
            assert any(note in text(second) for note in NOTES)
            assert health(serving)[0] < 0.5
    finally:
        send(processes, signal.SIGCONT)
    # opened by failed calls: tried again after retry_after_s (10 s), then closed by a good call
    started = time.monotonic()
    while True:
        _, answer = ask(serving)
        if answer.status_code == 200 and not any(note in text(answer) for note in NOTES):
            break
        assert time.monotonic() - started < 3 * RECOVERY_S, "the model was not used again"
        time.sleep(1)


def test_model_server_slowed(serving, llm_url):
    """Stopped 0.7 s of every second: answers are slower or from the evidence, never late."""
    processes = vllm_processes(llm_url)
    latencies = []
    try:
        with slowed(processes):
            for _ in range(4):
                seconds, answer = ask(serving)
                assert answer.status_code == 200, answer.text
                assert len(answer.json()["recommendations"]["items"]) == 3
                assert seconds < REQUEST_TIMEOUT_S + SLACK_S, f"{seconds:.1f} s"
                latencies.append(health(serving)[0])
    finally:
        send(processes, signal.SIGCONT)
    assert max(latencies) < 0.5, latencies
    wait_ready(serving, RECOVERY_S)


def test_model_server_killed(store_path, tmp_path_factory):
    """A vLLM of its own, killed (SIGKILL, the whole group) mid-request: connections are refused,
    so the answer comes at once, and so do the next ones."""
    from agent.llm.models import prepare_model
    from agent.llm.server import start_server as start_vllm
    from agent.llm.server import stop_server
    from agent.llm.server import wait_ready as wait_vllm
    from core.settings import get_settings

    settings = get_settings()
    port = free_port()
    model_dir = prepare_model(settings.llm_model, settings.cache_dir, progress=False)
    logs = tmp_path_factory.mktemp("killed")
    vllm = start_vllm(model_dir, settings.llm_model, port, settings.llm_host, settings.kv_cache_gib,
                      logs / "vllm.log", max_model_len=settings.llm_max_model_len)
    server_process = None
    try:
        url = f"http://{settings.llm_host}:{port}/v1"
        wait_vllm(url, vllm, settings.llm_start_timeout, progress=False)
        server_process, server = start_server(store_path, url, logs / "server.log", key=None,
                                              extra=["--explanations", "llm"])
        assert ask(server)[1].status_code == 200
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(ask, server)
            time.sleep(0.5)
            os.killpg(vllm.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            _, first = pending.result(timeout=120)
        first_s = time.monotonic() - killed_at
        assert first.status_code == 200 and first_s < FIRST_ANSWER_S + SLACK_S, f"{first_s:.1f} s"
        seconds, second = ask(server)
        assert second.status_code == 200 and seconds < 2.0 and sources(second) == {"evidence"}
        assert "not answering" in text(second)
        seconds, state = health(server)
        assert seconds < 0.5 and state["model_server"]["state"] == "unreachable"
    finally:
        if server_process is not None:
            stop(server_process)
        stop_server(vllm)
