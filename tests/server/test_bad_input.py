"""Bad requests, sent raw with httpx: every one is answered in OpenAI's error shape, naming the
parameter at fault, and none shows a stack trace."""

from __future__ import annotations

import json

import httpx
import pytest

from scenebridge.server.protocol import ErrorResponse

pytestmark = [pytest.mark.slow, pytest.mark.live_llm]

CHAT = "/v1/chat/completions"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:
        yield client


def error(response: httpx.Response, status: int, *, param: str | None = None, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = ErrorResponse.model_validate(response.json()).error  # exactly the OpenAI shape
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert body.param == param
    if code:
        assert body.code == code
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response.json()["error"]


def test_malformed_json(http):
    response = http.post(CHAT, content=b'{"model": "scenebridge", "messages": [', headers={"content-type": "application/json"})
    assert "not valid JSON" in error(response, 400, code="invalid_json")["message"]


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "scenebridge", "messages": HI, "k": "many"}, "k"),
    ({"model": "scenebridge", "messages": HI, "k": 500}, "k"),
    ({"model": "scenebridge", "messages": "hello"}, "messages"),
    ({"model": "scenebridge", "messages": []}, "messages"),
    ({"model": "scenebridge", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
    ({"model": "scenebridge", "messages": [{"role": "system", "content": "only rules"}]}, "messages"),
    ({"model": "scenebridge", "messages": HI, "stream": "sometimes"}, "stream"),
    ({"model": "scenebridge", "messages": HI, "n": 2}, "n"),
    ({"messages": HI}, "model"),
    ({"model": "scenebridge", "messages": [{"role": "user", "content": "x"}] * 65}, "messages"),
])
def test_wrong_types_and_limits_name_the_parameter(http, body, param):
    error(http.post(CHAT, json=body), 400, param=param)


def test_body_must_be_an_object(http):
    error(http.post(CHAT, json=["a", "list"]), 400)
    error(http.post(CHAT), 400, code="missing_body")


def test_oversized_bodies(http):
    big = {"model": "scenebridge", "messages": [{"role": "user", "content": "a" * 70_000}]}
    error(http.post(CHAT, json=big), 413, code="body_too_large")

    def chunks():  # no Content-Length: refused once the bytes read pass the limit
        data = json.dumps(big).encode()
        for start in range(0, len(data), 8192):
            yield data[start:start + 8192]

    error(http.post(CHAT, content=chunks(), headers={"content-type": "application/json"}), 413,
          code="body_too_large")


def test_unknown_model(http):
    message = error(http.post(CHAT, json={"model": "gpt-4o", "messages": HI}), 404, param="model",
                    code="model_not_found")["message"]
    assert "scenebridge:sci-fi" in message  # says what exists
    error(http.get("/v1/models/gpt-4o"), 404, param="model")


def test_unknown_user_and_scene_as_fields(http):
    message = error(http.post(CHAT, json={"model": "scenebridge", "messages": HI, "user_id": "nobody"}), 404,
                    param="user_id", code="user_not_found")["message"]
    assert "nobody" in message and "describe a new user" in message  # the domain message and its hint
    error(http.post(CHAT, json={"model": "scenebridge", "messages": HI, "target_scene": "Westerns"}), 404,
          param="target_scene", code="scene_not_found")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}])
def test_missing_or_wrong_key(server, headers):
    for method, path in (("GET", "/v1/models"), ("POST", CHAT), ("POST", "/v1/recommendations")):
        response = httpx.request(method, server.url + path, headers=headers, content=b"{not json", timeout=30)
        error(response, 401, code="invalid_api_key")
        assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(server.url + "/health", headers=headers, timeout=30).status_code == 200  # open


def test_unknown_routes_and_methods(http):
    error(http.get("/v1/nothing-here"), 404)
    error(http.get(CHAT), 405)


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"likes": ["Groundhog Day", "Qwzx Blorp"], "target_scene": "Sci-Fi"}, 404, "likes[1]"),
    ({"likes": ["Groundhog Day"], "target_scene": "Sci-Fi", "candidates": ["Nope (1999)"]}, 404, "candidates"),
    ({"user_id": "nobody", "target_scene": "Sci-Fi"}, 404, "user_id"),
    ({"likes": ["Groundhog Day"], "target_scene": "Horror"}, 404, "target_scene"),
    ({"likes": ["Groundhog Day"], "user_id": "100k_1", "target_scene": "Sci-Fi"}, 400, "user_id"),
    ({"target_scene": "Sci-Fi"}, 400, "user_id"),
    ({"likes": ["Groundhog Day"], "target_scene": "Sci-Fi", "k": 0}, 400, "k"),
    ({"likes": ["Groundhog Day"], "target_scene": "Sci-Fi", "colour": "red"}, 400, "colour"),
    ({"likes": "Groundhog Day", "target_scene": "Sci-Fi"}, 400, "likes"),
    ({"likes": ["Pulp Fiction"], "target_scene": "Sci-Fi"}, 400, "likes"),  # in neither scene
])
def test_recommendations_bad_input(http, body, status, param):
    error(http.post("/v1/recommendations", json={**body, "explain": False}), status, param=param)
