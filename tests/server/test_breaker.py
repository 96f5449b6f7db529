"""The model server's circuit breaker (agent/llm/breaker.py) and the server around it.

A stalled or dead model server is what is under test, and a real vLLM cannot be made to stall on
demand here: these tests use a fake model server, a tiny local HTTP server speaking the three
endpoints the agent calls (``/v1/models``, ``/v1/completions``, ``/tokenize``) that can be told to
stall (every request waits until released) or is closed (connections refused). The real vLLM
stopped, killed and slowed is in tests/faults/test_model_server_faults.py.

Durations are asserted generously: what matters is seconds instead of the minutes a stalled
server used to cost, not milliseconds."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import asynccontextmanager

import httpx
import pytest

from agent.llm import Completion, LLMBadOutput, LLMTimeout, LLMUnavailable, OpenAIBackend
from agent.llm.breaker import BreakerConfig, CircuitBreaker, GuardedBackend, time_budget
from scenebridge.server.launcher import free_port
from tests.server.fake_model_server import HANG, FakeModelServer


def explanation(prompt: str) -> dict:
    """A sentence that passes the explanation checks (agent/explain/checks.py): it names the
    recommended title and the first of the person's films the prompt lists."""
    item = re.search(r"the reasons we recommend (.+):$", prompt, flags=re.MULTILINE)
    liked = re.findall(r"^- (.+)$", prompt, flags=re.MULTILINE)[:1]
    because = f"Because you enjoyed {liked[0]}, " if liked else "Because of the comedies you named, "
    return {"sentence": f"{because}{item.group(1) if item else 'this film'} should suit your taste as well.",
            "cites": liked}


@pytest.fixture
def fake_server():
    server = FakeModelServer(explanation=lambda request: explanation(request.get("prompt", "")))
    yield server
    server.close()


class ScriptedLLM:
    """The LLMBackend contract, each call doing what ``behave`` (async) does."""

    name = "scripted"
    model = "scripted-model"

    def __init__(self, behave):
        self.behave = behave
        self.calls = 0

    async def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, logprobs=None,
                       allowed_token_ids=None, json_schema=None, stop=None) -> Completion:
        self.calls += 1
        return await self.behave()

    async def token_ids(self, text: str) -> list[int]:
        return [1]

    async def aclose(self) -> None:
        return None


def answers(text: str = "ok"):
    async def behave():
        return Completion(text=text)
    return behave


def raises(exc: Exception):
    async def behave():
        raise exc
    return behave


def stalls(release: asyncio.Event | None = None):
    async def behave():
        await asyncio.wait_for((release or asyncio.Event()).wait(), HANG)
        return Completion(text="late")
    return behave


async def ok_probe() -> list[str]:
    return ["scripted-model"]


async def failing_probe() -> list[str]:
    raise LLMUnavailable("probe: connection refused")


def breaker_with(probe=ok_probe, **config) -> CircuitBreaker:
    return CircuitBreaker("http://model", BreakerConfig(**config), probe=probe)


async def timed(awaitable) -> tuple[float, object]:
    started = time.perf_counter()
    try:
        result = await awaitable
    except Exception as exc:  # noqa: BLE001 - the outcome is what is asserted
        result = exc
    return time.perf_counter() - started, result


# -- the breaker alone ---------------------------------------------------------------------------
def test_failed_calls_in_a_row_open_it_and_then_calls_are_refused_without_asking():
    async def go():
        breaker = breaker_with(failures=2)
        llm = ScriptedLLM(raises(LLMUnavailable("connection refused")))
        guarded = GuardedBackend(llm, breaker)
        for _ in range(2):
            with pytest.raises(LLMUnavailable):
                await guarded.complete("p", max_tokens=1)
        assert breaker.state == "open" and llm.calls == 2
        seconds, refused = await timed(guarded.complete("p", max_tokens=1))
        assert isinstance(refused, LLMUnavailable) and "not answering" in refused.message
        assert "connection refused" in refused.message  # says why
        assert llm.calls == 2 and seconds < 0.5  # not asked: at once

    asyncio.run(go())


def test_a_bad_answer_is_not_a_failure_of_the_server():
    async def go():
        breaker = breaker_with(failures=1)
        guarded = GuardedBackend(ScriptedLLM(raises(LLMBadOutput("garbage"))), breaker)
        with pytest.raises(LLMBadOutput):
            await guarded.complete("p", max_tokens=1)
        assert breaker.state == "closed"

    asyncio.run(go())


def test_a_failed_probe_gives_up_the_calls_already_waiting():
    async def go():
        probe_ok = True

        async def probe():
            if not probe_ok:
                raise LLMUnavailable("probe timed out")
            return ["m"]

        breaker = breaker_with(probe)
        guarded = GuardedBackend(ScriptedLLM(stalls()), breaker)
        waiting = [asyncio.ensure_future(timed(guarded.complete("p", max_tokens=1))) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waiting)
        probe_ok = False
        await breaker.probe()
        results = await asyncio.wait_for(asyncio.gather(*waiting), 5)
        assert all(isinstance(r, LLMUnavailable) and seconds < 2 for seconds, r in results), results
        assert breaker.state == "open" and "probe timed out" in breaker.reason

    asyncio.run(go())


def test_an_answering_probe_closes_what_a_failed_probe_opened():
    async def go():
        probe_ok = False

        async def probe():
            if not probe_ok:
                raise LLMUnavailable("down")
            return ["m"]

        breaker = breaker_with(probe)
        guarded = GuardedBackend(ScriptedLLM(answers()), breaker)
        await breaker.probe()
        assert breaker.state == "open" and not breaker.last_probe.ok and breaker.reason == "down"
        probe_ok = True
        await breaker.probe()
        assert breaker.state == "closed" and breaker.reason is None and breaker.last_probe.models == ["m"]
        assert (await guarded.complete("p", max_tokens=1)).text == "ok"

    asyncio.run(go())


def test_after_failed_calls_a_live_probe_waits_before_one_trial_call():
    """A stalled engine behind an API that still lists its models: the probe passes, calls time
    out. Only after retry_after_s is a call tried again, one at a time."""
    async def go():
        breaker = breaker_with(failures=1, retry_after_s=0.3)
        llm = ScriptedLLM(raises(LLMTimeout("slow")))
        guarded = GuardedBackend(llm, breaker)
        with pytest.raises(LLMTimeout):
            await guarded.complete("p", max_tokens=1)
        await breaker.probe()
        assert breaker.state == "open"  # the probe answers, but that proves little: not yet
        await asyncio.sleep(0.35)
        await breaker.probe()
        assert breaker.state == "half_open"
        release = asyncio.Event()
        llm.behave = stalls(release)
        trial = asyncio.ensure_future(guarded.complete("p", max_tokens=1))
        await asyncio.sleep(0.05)
        seconds, refused = await timed(guarded.complete("p", max_tokens=1))
        assert isinstance(refused, LLMUnavailable) and "tried again" in refused.message and seconds < 0.1
        release.set()
        assert (await trial).text == "late" and breaker.state == "closed"
        assert llm.calls == 2
        # and a trial that fails opens it again at once
        breaker.open("again")
        await asyncio.sleep(0.35)
        await breaker.probe()
        llm.behave = raises(LLMTimeout("slow"))
        with pytest.raises(LLMTimeout):
            await guarded.complete("p", max_tokens=1)
        assert breaker.state == "open"

    asyncio.run(go())


def test_the_probe_makes_the_trial_itself_so_it_closes_with_no_request_coming():
    """Recovery must not wait for traffic: once retry_after_s has passed, an answering probe tries
    one completion of its own; it closes the breaker, or a failed one keeps it open."""
    async def go():
        completes = {"ok": False}
        tried = []

        async def trial(models):
            tried.append(models)
            if not completes["ok"]:
                raise LLMTimeout("engine stalled")

        breaker = CircuitBreaker("http://model", BreakerConfig(retry_after_s=0.2), probe=ok_probe, trial=trial)
        breaker.open("calls timed out")
        await breaker.probe()
        assert breaker.state == "open" and tried == []  # too early to try
        await asyncio.sleep(0.25)
        await breaker.probe()
        assert breaker.state == "open" and tried == [["scripted-model"]]  # tried, failed: open again
        completes["ok"] = True
        await asyncio.sleep(0.25)
        await breaker.probe()
        assert breaker.state == "closed" and len(tried) == 2

    asyncio.run(go())


def test_a_trial_call_given_up_by_its_client_lets_the_next_one_try():
    async def go():
        breaker = breaker_with(retry_after_s=0)
        breaker.open("calls timed out")
        await breaker.probe()
        assert breaker.state == "half_open"
        llm = ScriptedLLM(stalls())
        guarded = GuardedBackend(llm, breaker)
        trial = asyncio.ensure_future(guarded.complete("p", max_tokens=1))
        await asyncio.sleep(0.05)
        trial.cancel()
        await asyncio.gather(trial, return_exceptions=True)
        llm.behave = answers()
        assert (await guarded.complete("p", max_tokens=1)).text == "ok" and breaker.state == "closed"

    asyncio.run(go())


def test_the_request_budget_bounds_a_call_without_blaming_the_server():
    async def go():
        breaker = breaker_with()
        llm = ScriptedLLM(stalls())
        guarded = GuardedBackend(llm, breaker)
        with time_budget(0.3):
            seconds, result = await timed(guarded.complete("p", max_tokens=1))
            assert isinstance(result, LLMTimeout) and 0.2 < seconds < 3
            await asyncio.sleep(0.3)  # the budget is spent: the next call is not even made
            seconds, result = await timed(guarded.complete("p", max_tokens=1))
        assert isinstance(result, LLMTimeout) and "no time was left" in result.message and seconds < 0.1
        assert llm.calls == 1 and breaker.state == "closed"

    asyncio.run(go())


# -- over HTTP: the fake model server --------------------------------------------------------------
def test_a_stalled_call_is_bounded_by_the_timeout_and_one_retry(fake_server):
    """The server's limits (SCENEBRIDGE_LLM_TIMEOUT_S, _LLM_RETRIES) on the real backend: a stalled
    server costs about timeout x 2 plus a backoff, not the 120 s x 3 of the CLI's defaults."""
    async def go():
        backend = OpenAIBackend(base_url=fake_server.url, model="fake-model")
        backend.set_limits(timeout_s=0.5, max_retries=1)
        fake_server.stall()
        try:
            seconds, result = await timed(backend.complete("p", max_tokens=1))
        finally:
            await backend.aclose()
        assert isinstance(result, LLMTimeout), result
        assert 0.9 < seconds < 5, seconds
        assert fake_server.requests.count("/v1/completions") <= 2  # one try, one retry (a busy machine may
        # time the first out before the fake server has read it)

    asyncio.run(go())


def test_breaker_opens_on_a_stalled_server_falls_back_at_once_and_closes_after_it_recovers(fake_server):
    async def go():
        backend = OpenAIBackend(base_url=fake_server.url, model="fake-model")
        backend.set_limits(timeout_s=30, max_retries=1)  # long: the probe must be what gives up
        breaker = CircuitBreaker(fake_server.url, BreakerConfig(probe_interval_s=0.2, probe_timeout_s=0.5))
        guarded = GuardedBackend(backend, breaker)
        watch = asyncio.create_task(breaker.watch())
        try:
            assert (await guarded.complete("p", max_tokens=1)).text == " A"
            fake_server.stall()
            seconds, stalled = await timed(guarded.complete("p", max_tokens=1))
            assert isinstance(stalled, LLMUnavailable) and seconds < 5, (seconds, stalled)
            assert breaker.state == "open" and "did not answer" in breaker.reason
            asked = len(fake_server.requests)
            seconds, refused = await timed(guarded.complete("p", max_tokens=1))
            assert isinstance(refused, LLMUnavailable) and seconds < 0.5
            assert len(fake_server.requests) - asked <= 3  # only probes, no call

            fake_server.resume()
            recovered = time.perf_counter()
            while breaker.state == "open" and time.perf_counter() - recovered < 10:
                await asyncio.sleep(0.05)
            assert breaker.state == "closed" and time.perf_counter() - recovered < 5
            assert (await guarded.complete("p", max_tokens=1)).text == " A"
            assert breaker.state == "closed"
        finally:
            watch.cancel()
            await backend.aclose()

    asyncio.run(go())


def test_a_dead_server_fails_fast_and_opens_it():
    """Nobody listening (the server was killed): refused connections, no waiting."""
    async def go():
        url = f"http://127.0.0.1:{free_port()}/v1"
        backend = OpenAIBackend(base_url=url, model="m")
        backend.set_limits(timeout_s=10, max_retries=1)
        breaker = CircuitBreaker(url, BreakerConfig(probe_timeout_s=1))
        guarded = GuardedBackend(backend, breaker)
        try:
            first, error = await timed(guarded.complete("p", max_tokens=1))
            assert isinstance(error, LLMUnavailable) and first < 5
            probe = await breaker.probe()
            assert not probe.ok and breaker.state == "open"
            seconds, refused = await timed(guarded.complete("p", max_tokens=1))
            assert isinstance(refused, LLMUnavailable) and seconds < 0.1
        finally:
            await backend.aclose()

    asyncio.run(go())


# -- the server, in this process, in front of the fake model server -------------------------------
@asynccontextmanager
async def running(app):
    """The app's lifespan and an httpx client over ASGI (no socket, one event loop with the test)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scenebridge", timeout=HANG) as client:
            yield client


ASK = {"model": "scenebridge:sci-fi", "messages": [{"role": "user", "content": "I loved Groundhog Day"}], "k": 3}


def test_server_answers_from_the_evidence_at_once_while_the_model_server_is_stalled(store_path, fake_server):
    from serve import create_app

    app = create_app(store_dir=store_path, llm_url=fake_server.url, probe_interval_s=0.3, health_timeout_s=0.5,
                     llm_timeout_s=20, request_timeout_s=40, explanations="llm")

    async def go():
        async with running(app) as client:
            state = app.state.scenebridge
            health = (await client.get("/health")).json()
            assert health["model_server"]["state"] == "ready" and health["model_server"]["models"] == ["fake-model"]
            healthy = (await client.post("/v1/chat/completions", json=ASK)).json()
            assert {i["explanation_source"] for i in healthy["recommendations"]["items"]} == {"llm"}

            fake_server.stall()
            seconds, stalled = await timed(client.post("/v1/chat/completions", json=ASK))
            assert stalled.status_code == 200 and seconds < 5, (seconds, stalled.text)
            body = stalled.json()
            assert {i["explanation_source"] for i in body["recommendations"]["items"]} == {"evidence"}
            assert "not answering" in body["choices"][0]["message"]["content"]  # the answer says so
            assert state.breaker.state == "open"

            seconds, again = await timed(client.post("/v1/chat/completions", json=ASK))
            assert again.status_code == 200 and seconds < 2, seconds  # the breaker is open: no waiting
            seconds, ranked = await timed(client.post("/v1/recommendations", json={
                "user_id": "100k_1", "target_scene": "Sci-Fi", "k": 3, "ranker": "verbalizer"}))
            assert ranked.status_code == 200 and seconds < 2, seconds
            assert "not answering" in ranked.json()["fallback"]  # ranked by candidate scores, and says why
            seconds, health = await timed(client.get("/health"))
            assert seconds < 0.5 and health.json()["model_server"]["state"] == "unreachable"
            assert health.json()["status"] == "degraded" and "fall back" in health.json()["model_server"]["detail"]

            fake_server.resume()
            back = time.perf_counter()
            while (await client.get("/health")).json()["model_server"]["state"] != "ready":
                assert time.perf_counter() - back < 10, "not back within 10 s of the model server's return"
                await asyncio.sleep(0.1)
            recovered = (await client.post("/v1/chat/completions", json=ASK)).json()
            assert {i["explanation_source"] for i in recovered["recommendations"]["items"]} == {"llm"}
            assert state.breaker.state == "closed"

    asyncio.run(go())
