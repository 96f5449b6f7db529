"""Streaming that streams, and usage in tokens: through the official openai client against a real
``scenebridge serve`` process (the test store) in front of a fake model server whose explanation
calls are held until the test lets them go. What is asserted is order (the first content before
any explanation is written, items in rank order), not the machine's speed. The deadline of a
stream is tested on the serving code alone (no store)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest

from agent.llm.models import DEFAULT_MODEL, prepare_model
from agent.llm.tokens import TokenCounter, estimate
from agent.recommender import Explaining
from agent.requests import Recommendation, RecommendedItem
from core.settings import get_settings
from scenebridge.server.chat.serving import ChatAnswer, chunks
from scenebridge.server.config import ServerConfig
from scenebridge.server.launcher import free_port, stop
from scenebridge.server.protocol import ChatCompletionRequest, RecommendationsResponse, Understood
from tests.server.conftest import start_server
from tests.server.test_protocol import exactly

HANG = 60.0  # seconds: only ever reached when something is broken
ASK = [{"role": "user", "content": "I loved Groundhog Day and Annie Hall — what sci-fi should I watch?"}]
EXPLANATION = {"sentence": "Because you enjoyed the comedies you named, this film should suit your taste as well.",
               "cites": []}


class HeldModelServer:
    """The three endpoints the agent calls (``/v1/models``, ``/v1/completions``, ``/tokenize``) on
    a free loopback port. It serves the name of the packaged default model, so the server counts
    usage with that model's tokenizer (prepared on this machine). Explanation calls (a JSON schema
    in the request) wait while ``hold()`` is on; ``waiting`` counts them, ``answered`` has the
    perf_counter time each was answered at."""

    def __init__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/v1"
        self.waiting = 0
        self.answered: list[float] = []
        self._go = threading.Event()
        self._go.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, payload: dict) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the server gave the call up
                    pass

            def do_GET(self):
                self._answer({"object": "list", "data": [{"id": DEFAULT_MODEL, "object": "model", "created": 0,
                                                          "owned_by": "tests"}]})

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if self.path.startswith("/tokenize"):
                    return self._answer({"tokens": [1]})
                if request.get("structured_outputs"):  # an explanation
                    fake.waiting += 1
                    fake._go.wait(HANG)
                    fake.waiting -= 1
                    fake.answered.append(time.perf_counter())
                    text, logprobs = json.dumps(EXPLANATION), None
                else:  # a ranking label, or the breaker's one-token trial
                    text = " A"
                    logprobs = {"tokens": [" A"], "token_logprobs": [-0.1], "text_offset": [0],
                                "top_logprobs": [{" A": -0.1, " B": -1.0}]}
                self._answer({"id": "cmpl-held", "object": "text_completion", "created": 0, "model": DEFAULT_MODEL,
                              "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": logprobs}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}})

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def hold(self) -> None:
        self._go.clear()

    def release(self) -> None:
        self._go.set()

    def wait_for_held(self, n: int) -> None:
        deadline = time.monotonic() + HANG
        while self.waiting < n:
            assert time.monotonic() < deadline, f"{self.waiting} explanation calls held, expected {n}"
            time.sleep(0.02)

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def model_server():
    server = HeldModelServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(store_path, model_server, tmp_path_factory):
    """Model-worded explanations on (the fake's calls are what the tests hold)."""
    process, running = start_server(store_path, model_server.url, tmp_path_factory.mktemp("serve") / "server.log",
                                    extra=["--explanations", "llm"])
    yield running
    stop(process)


@pytest.fixture
def client(app, model_server):
    yield openai.OpenAI(base_url=app.base_url, api_key=app.key, timeout=HANG, max_retries=0)
    model_server.release()


def queue(app) -> dict:
    return httpx.get(f"{app.url}/health", timeout=10).json()["queue"]


def content(chunk) -> str:
    return (chunk.choices[0].delta.content or "") if chunk.choices else ""


def test_the_first_item_goes_out_before_any_explanation_is_written(client, model_server):
    model_server.hold()
    stream = client.chat.completions.create(model="scenebridge", messages=ASK, stream=True, extra_body={"k": 3})
    pieces: list[tuple[float, str]] = []
    with stream:
        for chunk in stream:
            if text := content(chunk):
                pieces.append((time.perf_counter(), text))
                if len(pieces) == 1:
                    model_server.wait_for_held(3)  # all three explanations asked for at once, none written
                    assert model_server.answered == []
                    model_server.release()
    first_at, first = pieces[0]
    header, title = first.split("\n\n")  # the header, and the first item's title line only
    assert header.startswith("Here are 3 Sci-Fi picks for someone who likes **Groundhog Day** (1993)")
    assert title.startswith("1. **") and title.endswith("\n") and title.count("\n") == 1
    assert len(model_server.answered) == 3 and min(model_server.answered) > first_at
    text = "".join(p for _, p in pieces)
    assert [line[:3] for line in text.splitlines() if line[:1].isdigit()] == ["1. ", "2. ", "3. "]
    assert text.count("   - Why: ") == 3
    assert len(pieces) >= 5  # header and first title, each item's reasons (with the next title), the footer


def test_streamed_and_whole_answers_are_the_same(client):
    whole = client.chat.completions.create(model="scenebridge", messages=ASK, extra_body={"k": 3})
    chunks = list(client.chat.completions.create(model="scenebridge", messages=ASK, extra_body={"k": 3},
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(content(c) for c in chunks) == whole.choices[0].message.content
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    streamed = exactly(RecommendationsResponse, final.model_extra["recommendations"])
    plain = exactly(RecommendationsResponse, whole.model_extra["recommendations"])
    assert [(i.item_id, i.explanation, i.evidence, i.explanation_source) for i in streamed.items] == [
        (i.item_id, i.explanation, i.evidence, i.explanation_source) for i in plain.items]
    assert exactly(Understood, final.model_extra["understood"]) == exactly(Understood, whole.model_extra["understood"])
    assert chunks[-1].usage == whole.usage


def test_usage_is_the_served_models_tokenizer_count(client):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepare_model(DEFAULT_MODEL, get_settings().cache_dir, progress=False))

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    messages = [*ASK, {"role": "assistant", "content": "Here are 5 picks…"}, {"role": "user", "content": "more"}]
    completion = client.chat.completions.create(model="scenebridge", messages=messages, extra_body={"explain": False})
    text = completion.choices[0].message.content
    assert completion.usage.prompt_tokens == sum(count(m["content"]) for m in messages)
    assert completion.usage.completion_tokens == count(text) != estimate(text)
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_a_client_that_leaves_mid_stream_frees_its_slot(app, client, model_server):
    model_server.hold()
    stream = client.chat.completions.create(model="scenebridge", messages=ASK, stream=True, extra_body={"k": 3})
    for chunk in stream:
        if content(chunk):
            break
    model_server.wait_for_held(3)
    assert queue(app)["running"] == 1  # the slot is held while the explanations are written
    stream.close()
    deadline = time.monotonic() + 10
    while queue(app)["running"]:
        assert time.monotonic() < deadline, "the slot was not given back after the client left"
        time.sleep(0.05)
    assert model_server.waiting == 3  # freed while the model server still held every explanation


# -- the stream's deadline, on the serving code alone ------------------------------------------------
class _Service:
    async def _no_model(self):
        return None

    def __init__(self):
        self.tokens = TokenCounter(self._no_model, get_settings().models_dir)


class _State:
    """What ``chunks`` reads of the server's state: its config and the service's token counter."""

    def __init__(self):
        self.config = ServerConfig(request_timeout_s=0.3)
        self.service = _Service()


def test_a_stream_past_its_deadline_ends_with_an_openai_error_and_gives_up_the_rest():
    async def go():
        unwritten = asyncio.ensure_future(asyncio.sleep(HANG))  # an explanation that never comes
        head = Recommendation(user=None, target_scene="Sci-Fi", source_scene="Comedy", ranker="backbone",
                              items=[RecommendedItem(item_id="A", title="A", rank=1, score=1.0)])
        explaining = Explaining(head, {"A": unwritten}, llm=None, started=0.0, clock=0.0)

        async def rest():
            yield "Here are 1 Sci-Fi picks:\n\n1. **A**\n"
            await unwritten

        answer = ChatAnswer("", Understood(target_scene="Sci-Fi"), rest=rest(), explaining=explaining)
        request = ChatCompletionRequest(model="scenebridge", messages=ASK, stream=True)
        started = time.monotonic()
        events = [e async for e in chunks(_State(), request, answer, deadline=started + 0.3)]
        await asyncio.sleep(0)
        return time.monotonic() - started, events, unwritten

    seconds, events, unwritten = asyncio.run(go())
    assert seconds < 2 and unwritten.cancelled()
    assert '"content":"Here are 1 Sci-Fi picks' in events[1]
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert error["code"] == "request_timeout" and "SCENEBRIDGE_REQUEST_TIMEOUT_S" in error["message"]
