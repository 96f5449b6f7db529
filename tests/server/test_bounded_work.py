"""Bounded work per request: what one conversation may cost the parser (refused with a 400 that
names the limit, before any lookup), parsing off the event loop (so /health answers while a
request is read), a deadline per request, work cancelled when its client goes away, and a body
that never arrives answered 408.

The hostile requests are the ones the probes sent: 1,500 quoted unknown titles (26 KB) and 2,000
"not X" phrases (25 KB), which took 82 s and 15.8 s on the event loop. Durations are asserted
generously (correctness, not benchmarks: bench/hostile_requests.py measures a running server)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import pytest

from scenebridge.server.chat.conversation import Turn, understand
from scenebridge.server.chat.parse import ReadingLimits
from scenebridge.server.limits import BodyLimit, ClientGone, RequestTimedOut, TooMuchToRead, WorkQueue, bounded
from tests.server.test_breaker import HANG, running
from tests.server.test_chat_parse import catalogue  # noqa: F401 - the fixture: ML-100k titles, no store

TITLES = "I loved " + ", ".join(f'"Qzx Unknown Film {n}"' for n in range(1500)) + ". What sci-fi should I watch?"
NEGATIONS = "Some sci-fi please, " + " ".join(f"not Blorp{n}," for n in range(2000))


def chat(text: str) -> dict:
    return {"model": "scenebridge:sci-fi", "messages": [{"role": "user", "content": text}], "explain": False}


# -- what reading may cost -----------------------------------------------------------------------
def test_a_hostile_message_is_refused_before_any_lookup(catalogue):  # noqa: F811
    for text, code, limit in ((TITLES, "too_many_titles", "SCENEBRIDGE_MAX_TITLES"),
                              (NEGATIONS, "too_many_exclusions", "SCENEBRIDGE_MAX_EXCLUSIONS")):
        started = time.perf_counter()
        with pytest.raises(TooMuchToRead) as refused:
            understand([Turn("user", text)], catalogue, ReadingLimits())
        assert time.perf_counter() - started < 1.0
        error = refused.value
        assert error.status == 400 and error.code == code and error.param == "messages"
        assert limit in error.message and "start a new conversation" in error.message


def test_the_limits_count_over_the_whole_conversation(catalogue):  # noqa: F811
    limits = ReadingLimits(titles=4, exclusions=2)
    seen = understand([Turn("user", 'I loved "Groundhog Day" and "Qzx Unknown"'), Turn("assistant", "…"),
                       Turn("user", "not Star Wars, and I liked Clerks")], catalogue, limits)
    assert [i.item_id for i in seen.likes] == ["Groundhog Day (1993)", "Clerks (1994)"]
    assert limits.used_titles == 4 and limits.used_exclusions == 1  # 2 quoted, Star Wars, Clerks; one "not"
    with pytest.raises(TooMuchToRead, match="more than 4 titles"):
        understand([Turn("user", 'I loved "Groundhog Day" and "Qzx Unknown"'),
                    Turn("user", "and Clerks, Clueless and Heathers")], catalogue, ReadingLimits(titles=4))
    # "not really" is not matched against the titles, so it costs nothing
    relaxed = ReadingLimits(exclusions=1)
    understand([Turn("user", "not really, not really, I loved Clerks but not Star Wars")], catalogue, relaxed)
    assert relaxed.used_exclusions == 1


def test_reading_stops_at_the_deadline(catalogue):  # noqa: F811
    limits = ReadingLimits(deadline=time.monotonic() - 1)
    with pytest.raises(TooMuchToRead) as late:
        understand([Turn("user", 'I loved "Qzx Unknown Film"')], catalogue, limits)
    assert late.value.code == "reading_timeout"
    # known titles cost no search: read past the deadline all the same
    assert understand([Turn("user", "I loved Groundhog Day")], catalogue, limits).likes


# -- a body that never arrives -------------------------------------------------------------------
def test_a_body_shorter_than_its_content_length_is_answered_408_within_the_timeout():
    async def go():
        async def app(scope, receive, send):
            pytest.fail("the app ran without a body")

        sent: list[dict] = []
        calls = 0

        async def receive():
            nonlocal calls
            calls += 1
            if calls == 1:
                return {"type": "http.request", "body": b'{"model": "scen', "more_body": True}
            await asyncio.sleep(HANG)  # the rest never comes

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
                 "headers": [(b"content-length", b"5000"), (b"content-type", b"application/json")]}
        started = time.perf_counter()
        await asyncio.wait_for(BodyLimit(app, limit=65536, timeout=0.5)(scope, receive, send), 10)
        return time.perf_counter() - started, sent

    seconds, sent = asyncio.run(go())
    assert 0.4 < seconds < 3, seconds
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "body_timeout" and error["type"] == "invalid_request_error"
    assert "15 bytes of the 5000" in error["message"]


# -- cancellation and the deadline ---------------------------------------------------------------
def test_a_client_that_goes_away_has_its_work_cancelled_and_its_slot_freed():
    async def go():
        queue = WorkQueue(slots=1, max_waiting=4, timeout=HANG)
        gone, entered, cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def receive():
            await gone.wait()
            return {"type": "http.disconnect"}

        async def work():
            async with queue.slot():
                entered.set()
                try:
                    await asyncio.sleep(HANG)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise

        request = asyncio.ensure_future(bounded(receive, work(), seconds=HANG))
        await asyncio.wait_for(entered.wait(), 5)
        assert queue.running == 1
        gone.set()
        with pytest.raises(ClientGone) as left:
            await asyncio.wait_for(request, 5)
        assert left.value.status == 499 and cancelled.is_set()
        assert queue.running == 0 and queue.waiting == 0
        async with asyncio.timeout(1):  # the slot is free for the next request
            async with queue.slot():
                pass

    asyncio.run(go())


def test_work_past_the_deadline_is_cancelled_and_answered_504():
    async def go():
        queue = WorkQueue(slots=1, max_waiting=4, timeout=HANG)

        async def receive():
            await asyncio.sleep(HANG)

        async def work():
            async with queue.slot():
                await asyncio.sleep(HANG)

        started = time.perf_counter()
        with pytest.raises(RequestTimedOut) as late:
            await bounded(receive, work(), seconds=0.3)
        assert time.perf_counter() - started < 3 and queue.running == 0
        assert late.value.status == 504 and "SCENEBRIDGE_REQUEST_TIMEOUT_S" in late.value.message

    asyncio.run(go())


# -- the app, in this process ----------------------------------------------------------------------
async def health_while(client, work):
    """Run ``work`` while sampling /health every 20 ms; (work's result, its seconds, /health latencies)."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def sample():
        while not done.is_set():
            started = time.perf_counter()
            response = await client.get("/health")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    try:
        result = await work
    finally:
        seconds = time.perf_counter() - started
        done.set()
        await sampler
    return result, seconds, latencies


def test_hostile_messages_are_refused_fast_and_health_keeps_answering(store_path):
    from serve import create_app

    app = create_app(store_dir=store_path, use_llm=False)

    async def go():
        async with running(app) as client:
            for text, code in ((TITLES, "too_many_titles"), (NEGATIONS, "too_many_exclusions")):
                response, seconds, latencies = await health_while(client, client.post("/v1/chat/completions",
                                                                                       json=chat(text)))
                assert response.status_code == 400 and seconds < 2, (seconds, response.text)
                error = response.json()["error"]
                assert error["code"] == code and error["param"] == "messages" and "SCENEBRIDGE_MAX_" in error["message"]
                assert latencies and max(latencies) < 0.5, latencies
            # Under the limits, unknown titles are each searched for (MiniLM, tens of ms): on a
            # worker thread, while /health answers.
            some = "I loved " + ", ".join(f'"Qzx Unknown Film {n}"' for n in range(8))
            response, seconds, latencies = await health_while(client, client.post("/v1/chat/completions",
                                                                                   json=chat(some)))
            assert response.status_code == 200 and len(response.json()["understood"]["unknown"]) == 8
            assert len(latencies) >= 2 and statistics.median(latencies) < 0.1 and max(latencies) < 0.5, latencies

    asyncio.run(go())


def test_a_disconnected_chat_request_frees_its_slot(store_path):
    from serve import create_app

    app = create_app(store_dir=store_path, use_llm=False, max_concurrent=1)

    async def go():
        async with running(app):
            state = app.state.scenebridge
            entered, cancelled, gone = asyncio.Event(), asyncio.Event(), asyncio.Event()

            async def held(request):
                entered.set()
                try:
                    await asyncio.sleep(HANG)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise

            state.service.recommend = held
            body = json.dumps(chat("I loved Groundhog Day")).encode()
            delivered = False

            async def receive():  # the body, then nothing until the client goes away
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await gone.wait()
                return {"type": "http.disconnect"}

            sent: list[dict] = []

            async def send(message):
                sent.append(message)

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                     "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
                     "server": ("scenebridge", 80),
                     "headers": [(b"content-type", b"application/json"),
                                 (b"content-length", str(len(body)).encode())]}
            call = asyncio.ensure_future(app(scope, receive, send))
            await asyncio.wait_for(entered.wait(), 30)
            assert state.queue.running == 1
            gone.set()
            await asyncio.wait_for(call, 5)
            assert cancelled.is_set() and state.queue.running == 0 and state.queue.waiting == 0
            assert sent[0]["status"] == 499

    asyncio.run(go())
