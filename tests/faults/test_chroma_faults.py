"""The Chroma server restarted under load: ``chroma run`` holding the ML-100k store (ingested by
the ``served`` fixture of tests/retrievers/test_chroma_server.py), ``scenebridge serve
--chroma-url --no-llm`` in front, three clients asking without pause, and the Chroma server
killed (SIGKILL, requests in flight), then started again on the same path and port.

Asserted: every answer comes within ``ANSWER_S`` and is either the answer given before the
outage or a 503 in OpenAI's shape naming the Chroma server and how to fix it (never a 500, a
traceback or a hang); answers are right again within ``RECOVERY_S`` of Chroma's return, with the
same scenebridge process; the collections hold what they held.

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -m faults tests/faults/test_chroma_faults.py

Why ``ANSWER_S`` is 10 s: a killed server refuses connections (and resets the ones in flight)
at once, so an answer during the outage costs what it costs normally (well under a second to
rank ML-100k without a model) plus its wait for one of the two recommendation slots; 10 s is
that with a wide margin for a 2-core machine busy with other work. Nothing here may wait for a
timeout.

A Chroma server that is stopped (SIGSTOP: its port open, nothing answered) is the other fault:
chromadb's client waits without a timeout, scenebridge gives each call ``READ_TIMEOUT_S`` (10 s).
Asserted: each answer during the freeze is right (from what the process already holds) or a 503
naming the server, within ``READ_TIMEOUT_S`` plus the slack, never the request deadline's 504;
/health answers at once throughout; answers are right again within ``RECOVERY_S`` of SIGCONT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import psutil
import pytest

from retrievers import SceneStore
from retrievers._chroma import READ_TIMEOUT_S
from scenebridge.server.launcher import free_port, launch, stop
from tests.conftest import TARGET
from tests.retrievers import test_chroma_server
from tests.retrievers.test_chroma_server import ASK, START_TIMEOUT, USER
from tests.server.conftest import READY_TIMEOUT, Server

pytestmark = [pytest.mark.faults, pytest.mark.store, pytest.mark.slow]

ANSWER_S = 10.0
RECOVERY_S = 10.0
OUTAGE_S = 3.0  # how long Chroma stays down
IN_FLIGHT = 3  # clients asking at once (the server computes 2 recommendations at a time)


class ChromaServer:
    """``chroma run`` on one path and one port, killed and started again by the test."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start it; the seconds until its heartbeat answers."""
        chroma = Path(sys.executable).parent / "chroma"
        started = time.monotonic()
        with (self.folder / "chroma.log").open("a") as log:
            self.process = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.folder / "db"), "--host", "127.0.0.1", "--port",
                 str(self.port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            assert self.process.poll() is None, f"chroma run exited:\n{(self.folder / 'chroma.log').read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            assert time.monotonic() - started < START_TIMEOUT, f"chroma run did not answer within {START_TIMEOUT} s"
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        for member in tree:
            member.send_signal(sig)
        for member in psutil.wait_procs(tree, timeout=10)[1]:
            member.kill()
        self.process.wait()

    def signal(self, sig: int) -> None:
        """SIGSTOP or SIGCONT to the server and its children, leaving them alive."""
        assert self.process is not None and self.process.poll() is None
        for member in [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]:
            member.send_signal(sig)


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-restarted"))
    server.start()
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def chroma_url(chroma):
    """The ``chroma_url`` that ``served`` ingests into: the restartable server."""
    return chroma.url


served = test_chroma_server.served  # ML-100k ingested into chroma_url, with a fitted backbone beside it


@pytest.fixture(scope="module")
def serving(chroma, served, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-chroma") / "server.log"
    process, url = launch(["--store", str(served[0]), "--chroma-url", chroma.url, "--no-llm", "--explanations",
                           "evidence", "--log-level", "warning"], log, timeout=READY_TIMEOUT)
    try:
        yield process, Server(url, None, log)
    finally:
        stop(process)


# -- the clients ---------------------------------------------------------------------------------
@dataclass
class Answer:
    kind: str
    started: float  # time.monotonic()
    seconds: float
    status: int
    result: object  # what is compared with the answer before the outage; the error body otherwise


def _chat(server: Server, stream: bool) -> tuple[int, object]:
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
    try:
        if stream:
            chunks = client.chat.completions.create(model="scenebridge", messages=ASK, stream=True,
                                                    extra_body={"k": 3})
            return 200, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        answer = client.chat.completions.create(model="scenebridge", messages=ASK, extra_body={"k": 3})
        return 200, answer.choices[0].message.content
    except openai.APIStatusError as exc:
        return exc.status_code, exc.response.text


def _recommendations(server: Server) -> tuple[int, object]:
    response = httpx.post(f"{server.base_url}/recommendations", timeout=120,
                          json={"user_id": USER, "target_scene": TARGET, "k": 5})
    return response.status_code, response.json()["items"] if response.status_code == 200 else response.text


KINDS: dict[str, Callable[[Server], tuple[int, object]]] = {
    "chat": lambda server: _chat(server, stream=False),
    "chat-stream": lambda server: _chat(server, stream=True),
    "recommendations": _recommendations,
}


def ask(server: Server, kind: str) -> Answer:
    started = time.monotonic()
    status, result = KINDS[kind](server)
    return Answer(kind, started, time.monotonic() - started, status, result)


def keep_asking(server: Server, done: threading.Event, answers: list[Answer], offset: int) -> None:
    kinds = list(KINDS)
    n = offset
    while not done.is_set():
        answers.append(ask(server, kinds[n % len(kinds)]))
        n += 1


def check_error(answer: Answer, chroma_url: str) -> None:
    """A 503 in OpenAI's shape that names the Chroma server and says how to bring it back."""
    assert answer.status in (502, 503), f"{answer.kind}: HTTP {answer.status}: {answer.result}"
    assert "Traceback" not in answer.result
    error = json.loads(answer.result)["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert f"Chroma server at {chroma_url}" in error["message"], error
    assert "chroma run" in error["message"] and "no restart of scenebridge" in error["message"], error


def contents(store: SceneStore) -> dict[str, object]:
    """What the server holds: the ids of both collections, and the manifest."""
    return {"items": sorted(store.items("ml-100k").get(include=[])["ids"]),
            "histories": sorted(store.histories("ml-100k").get(include=[])["ids"]),
            "manifest": store.datasets()}


# -- the fault ------------------------------------------------------------------------------------
def test_chroma_restarted_under_load(chroma, served, serving):
    process, server = serving
    store = SceneStore(served[0], chroma_url=chroma.url)
    before = contents(store)
    assert len(before["items"]) == served[1].items_total and len(before["histories"]) == served[1].histories_total

    expected = {}
    for kind in KINDS:
        answer = ask(server, kind)
        assert answer.status == 200 and answer.result, (kind, answer.result)
        expected[kind] = answer.result
    assert expected["chat"] == expected["chat-stream"]

    answers: list[Answer] = []
    done = threading.Event()
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        clients = [pool.submit(keep_asking, server, done, answers, n) for n in range(IN_FLIGHT)]
        try:
            time.sleep(2.0)
            killed = time.monotonic()  # before the signal: answers already in flight may meet it
            chroma.kill()
            time.sleep(OUTAGE_S)
            chroma.start()
            back = time.monotonic()
            while not all(any(a.kind == kind and a.started > back and a.result == expected[kind] for a in answers)
                          for kind in KINDS):
                assert time.monotonic() - back < RECOVERY_S, "answers not right again within the recovery time"
                assert not any(c.done() for c in clients), [c.exception() for c in clients if c.done()]
                time.sleep(0.2)
            recovered = time.monotonic() - back
        finally:
            done.set()
        for client in clients:
            client.result(timeout=2 * ANSWER_S)

    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds <= ANSWER_S, f"{slowest.kind} took {slowest.seconds:.1f} s"
    errors = [a for a in answers if a.status != 200]
    for answer in answers:
        if answer.status == 200:
            assert answer.result == expected[answer.kind], f"{answer.kind}: a wrong answer"
        else:
            check_error(answer, chroma.url)
    assert any(killed < a.started + a.seconds and a.started < back for a in errors), "no answer met the outage"
    outside = [(a.kind, round(a.started - back, 2), round(a.seconds, 2)) for a in errors
               if not (killed < a.started + a.seconds and a.started < back + recovered)]
    assert not outside, f"errors outside the outage (kind, started after the return s, took s): {outside}; " \
        f"recovered {recovered:.2f} s after the return"

    assert process.poll() is None  # the same scenebridge process, never restarted
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
    for kind in KINDS:
        assert ask(server, kind).result == expected[kind]
    assert contents(SceneStore(served[0], chroma_url=chroma.url)) == before  # nothing lost or doubled
    print(f"\n{len(answers)} answers, {len(errors)} errors (HTTP {sorted({a.status for a in errors})}), slowest "
          f"{slowest.seconds:.2f} s, right again {recovered:.1f} s after Chroma's return")


FROZEN_S = 2 * READ_TIMEOUT_S + 5  # long enough for answers that wait out the timeout, twice


def test_chroma_stopped(chroma, served, serving):
    process, server = serving
    expected = {kind: ask(server, kind).result for kind in KINDS}
    answers: list[Answer] = []
    health_s: list[float] = []
    chroma.signal(signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            while time.monotonic() - frozen < FROZEN_S:
                asked = [pool.submit(ask, server, kind) for kind in ("recommendations", "chat")]
                while not all(a.done() for a in asked):
                    started = time.monotonic()
                    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
                    health_s.append(time.monotonic() - started)
                    time.sleep(0.5)
                answers += [a.result() for a in asked]
    finally:
        chroma.signal(signal.SIGCONT)
    thawed = time.monotonic()

    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds <= READ_TIMEOUT_S + ANSWER_S, f"{slowest.kind} took {slowest.seconds:.1f} s"
    errors = [a for a in answers if a.status != 200]
    assert errors, "no answer needed the frozen server: the test measured nothing"
    for answer in answers:
        if answer.status == 200:
            assert answer.result == expected[answer.kind], f"{answer.kind}: a wrong answer"
        else:
            check_error(answer, chroma.url)
            assert "did not answer within" in json.loads(answer.result)["error"]["message"]
    assert max(health_s) < 1.0, f"/health took {max(health_s):.2f} s while Chroma was stopped"
    while not all(ask(server, kind).result == expected[kind] for kind in KINDS):
        assert time.monotonic() - thawed < RECOVERY_S, "answers not right again within the recovery time"
        time.sleep(0.2)
    assert process.poll() is None
    print(f"\n{len(answers)} answers while Chroma was stopped, {len(errors)} errors, slowest {slowest.seconds:.2f} s, "
          f"/health max {max(health_s) * 1000:.0f} ms; right again {time.monotonic() - thawed:.1f} s after SIGCONT")
