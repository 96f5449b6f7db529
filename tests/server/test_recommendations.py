"""The structured endpoint and /health, read back into their wire models (exactly: no field
missing or extra)."""

from __future__ import annotations

import httpx
import pytest

from scenebridge.server.protocol import Health, RecommendationsResponse
from tests.server.test_protocol import exactly

pytestmark = [pytest.mark.slow, pytest.mark.live_llm]


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=180) as client:
        yield client


def test_health_reports_the_store_and_the_model_server(http, llm_url):
    health = exactly(Health, http.get("/health").json())
    assert health.status == "ok" and health.model_server.state == "ready"
    assert health.model_server.url == llm_url.rstrip("/") and health.model_server.models
    assert health.store.dataset == "ml-100k" and health.store.scenes == ["Comedy", "Sci-Fi"]
    assert health.store.source == "Comedy" and health.store.target == "Sci-Fi" and health.store.items > 1000
    assert health.explanations == "evidence" and health.queue.slots == 2  # the default


def test_for_a_user(http):
    response = http.post("/v1/recommendations", json={"user_id": "100k_1", "target_scene": "sci-fi", "k": 4,
                                                      "explain": False})
    assert response.status_code == 200, response.text
    result = exactly(RecommendationsResponse, response.json())
    assert result.user == "100k_1" and result.target_scene == "Sci-Fi" and result.source_scene == "Comedy"
    assert [i.rank for i in result.items] == [1, 2, 3, 4] and result.fallback is None


def test_for_likes_with_given_candidates_each_explained_in_words(http):
    candidates = ["Star Wars (1977)", "Alien (1979)", "Contact (1997)", "Brazil (1985)", "Gattaca (1997)"]
    response = http.post("/v1/recommendations", json={
        "likes": ["Groundhog Day", "annie hall"], "target_scene": "science fiction", "candidates": candidates,
        "k": 2, "exclude": ["Alien (1979)"]})
    assert response.status_code == 200, response.text
    result = exactly(RecommendationsResponse, response.json())
    assert result.likes == ["Groundhog Day", "annie hall"]
    assert len(result.items) == 2 and {i.item_id for i in result.items} <= set(candidates) - {"Alien (1979)"}
    assert all(i.explanation and i.explanation_source in ("llm", "evidence") for i in result.items)


def test_the_schema_documents_the_wire_models(http):
    schema = http.get("/openapi.json").json()
    post = schema["paths"]["/v1/recommendations"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RecommendationsRequest")
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RecommendationsResponse")
    models = schema["components"]["schemas"]
    assert {"RecommendedItemOut", "StoreHealth", "QueueStats"} <= set(models)
    assert not {"Recommendation", "RecommendedItem", "RecommendRequest"} & set(models)  # domain models stay out
    ranker = models["RecommendationsRequest"]["properties"]["ranker"]
    assert ranker["anyOf"][0]["enum"] == ["backbone", "ease", "ials", "rerank", "verbalizer", "listwise", "hybrid"]
    assert ranker["anyOf"][1] == {"type": "null"}  # null or absent: the store's default ranker
