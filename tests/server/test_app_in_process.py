"""The app in this process (FastAPI's TestClient, lifespan included, no model server), for what
a real model cannot be made to do on demand: fail with a bug, or hold its slot until told to."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from serve import create_app

HANG = 120.0  # seconds: only ever reached when something is broken

ASK = {"model": "scenebridge", "messages": [{"role": "user", "content": "I loved Groundhog Day"}], "explain": False}


@pytest.fixture
def app(store_path):
    return create_app(store_dir=store_path, use_llm=False, max_concurrent=1, queue_timeout_s=0.3)


def test_a_bug_is_a_500_without_details(app, caplog):
    with TestClient(app, raise_server_exceptions=False) as client:
        async def broken(request):
            raise RuntimeError("secret internals at /srv/app.py line 42")

        app.state.scenebridge.service.recommend = broken
        response = client.post("/v1/chat/completions", json=ASK)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    assert any("secret internals" in (r.exc_text or "") or "unhandled error" in r.message for r in caplog.records)


def test_a_full_queue_answers_503_with_retry_after(app):
    """One slot (max_concurrent=1): while a first request holds it, a second waits out the 0.3 s
    queue timeout and gets 503; the first is let go only after that, and answers 200."""
    entered, release = threading.Event(), threading.Event()
    with TestClient(app) as client:
        real = app.state.scenebridge.service.recommend

        async def held(request):
            entered.set()
            await asyncio.to_thread(release.wait, HANG)
            return await real(request)

        app.state.scenebridge.service.recommend = held
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.post, "/v1/chat/completions", json=ASK)
            try:
                assert entered.wait(HANG), "the first request never reached the service"
                busy = client.post("/v1/chat/completions", json=ASK)
            finally:
                release.set()
            answered = first.result(timeout=HANG)
    assert answered.status_code == 200, answered.text
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"]["code"] == "server_busy" and int(busy.headers["retry-after"]) >= 1


def test_without_a_model_server_health_says_so_and_answers_still_come(app):
    with TestClient(app) as client:
        health = client.get("/health").json()
        assert health["model_server"]["state"] == "disabled" and health["status"] == "degraded"
        answer = client.post("/v1/chat/completions", json=ASK).json()
        llm_asked = client.post("/v1/recommendations", json={"user_id": "100k_1", "target_scene": "Sci-Fi", "k": 3,
                                                             "ranker": "verbalizer"}).json()
    # The default ranker (the backbone, chosen on validation users) needs no model server...
    assert answer["recommendations"]["ranker"] == "backbone" and answer["recommendations"]["fallback"] is None
    assert "Ranked by candidate scores" not in answer["choices"][0]["message"]["content"]
    # ...while a ranker that does falls back to the candidate scores and says why.
    assert llm_asked["fallback"] == "no model server configured" and len(llm_asked["items"]) == 3
