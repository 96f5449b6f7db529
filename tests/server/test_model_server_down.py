"""With the model server down, nothing fails: /health says so, recommendations fall back to
candidate scores and say why, in the structured result and in the chat answer."""

from __future__ import annotations

import httpx
import openai
import pytest

from scenebridge.server.protocol import Health, RecommendationsResponse
from tests.server.test_protocol import exactly

pytestmark = pytest.mark.slow


def test_health_is_degraded(server_without_llm):
    health = httpx.get(f"{server_without_llm.url}/health", timeout=30).json()
    assert health["status"] == "degraded" and health["model_server"]["state"] == "unreachable"
    assert "fall back" in health["model_server"]["detail"]
    typed = exactly(Health, health)  # the keys clients read, typed
    assert list(health["store"]) == ["dataset", "scenes", "source", "target", "items"]
    assert typed.store.dataset == "ml-100k" and typed.store.scenes == ["Comedy", "Sci-Fi"]
    assert health["queue"] == {"running": 0, "waiting": 0, "slots": 2}
    assert typed.explanations == "evidence"


def test_chat_and_recommendations_fall_back(server_without_llm):
    client = openai.OpenAI(base_url=server_without_llm.base_url, api_key="unused", max_retries=0, timeout=120)
    completion = client.chat.completions.create(
        model="scenebridge:sci-fi", messages=[{"role": "user", "content": "I loved Groundhog Day"}])
    recommendation = exactly(RecommendationsResponse, completion.model_extra["recommendations"])
    # the default ranker is the backbone (validation's choice): no model server needed to rank
    assert recommendation.ranker == "backbone" and recommendation.fallback is None
    assert len(recommendation.items) == 5
    assert all(i.explanation_source == "evidence" for i in recommendation.items)

    response = httpx.post(f"{server_without_llm.base_url}/recommendations", timeout=120,
                          json={"user_id": "100k_1", "target_scene": "Sci-Fi", "k": 3, "ranker": "verbalizer"})
    assert response.status_code == 200
    assert exactly(RecommendationsResponse, response.json()).fallback
