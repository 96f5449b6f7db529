"""Streaming that streams, and usage in tokens: through the official openai client against a real
``scenebridge serve`` process (the test store) in front of a fake model server whose explanation
calls are held until the test lets them go. What is asserted is order (the first content before
any explanation is written, items in rank order), not the machine's speed. The deadline of a
stream is tested on the serving code alone (no store)."""

from __future__ import annotations

import asyncio
import json
import time

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
from scenebridge.server.launcher import stop
from scenebridge.server.protocol import ChatCompletionRequest, RecommendationsResponse, Understood
from tests.server.conftest import start_server
from tests.server.fake_model_server import HANG, FakeModelServer
from tests.server.test_protocol import exactly

ASK = [{"role": "user", "content": "I loved Groundhog Day and Annie Hall — what sci-fi should I watch?"}]
EXPLANATION = {"sentence": "Because you enjoyed the comedies you named, this film should suit your taste as well.",
               "cites": []}


@pytest.fixture(scope="module")
def model_server():
    """Serving the packaged default model's name, so the server counts usage with that model's
    tokenizer (prepared on this machine); its explanation calls wait while ``hold()`` is on."""
    server = FakeModelServer(model=DEFAULT_MODEL, explanation=lambda request: EXPLANATION, tokens=lambda request: [1])
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
