"""The OpenAI contract at its edges, as a client probing the server meets it (issue 16): strict
booleans, undecodable bodies and lengths, blank names, errors that name the field at fault, k
served in full up to its cap, the key (empty is none; the schema needs it too; a warning when
listening beyond loopback without one), and user text that stays text in the Markdown answer.

The app runs in this process (FastAPI's TestClient, lifespan included, no model server: the
store's default ranker is the backbone); what uvicorn itself answers is checked on a socket."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from core.domain import Item
from scenebridge.server import app as app_module
from scenebridge.server.auth import exposure_warning
from scenebridge.server.chat import render
from scenebridge.server.chat.parse import Unresolved
from scenebridge.server.config import ServerConfig
from scenebridge.server.protocol import MAX_K, ErrorResponse
from serve import create_app

KEY = "contract-key-0123"
CHAT, RECS = "/v1/chat/completions", "/v1/recommendations"
HI = [{"role": "user", "content": "I loved Groundhog Day"}]
LIKES = {"likes": ["Groundhog Day"], "target_scene": "Sci-Fi", "explain": False}


@pytest.fixture(scope="module")
def app(store_path):
    return create_app(store_dir=store_path, use_llm=False, api_key=KEY)


@pytest.fixture(scope="module")
def http(app):
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


def error(response, status: int, *, param: str | None = None, code: str | None = None) -> dict:
    """The body of an error answer, which must be exactly OpenAI's shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    ErrorResponse.model_validate(response.json())
    body = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert body["param"] == param, body
    if code:
        assert body["code"] == code, body
    return body


# -- 1. booleans are booleans --------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "param"), [
    (CHAT, {"stream": "yes"}, "stream"),
    (CHAT, {"stream": 1}, "stream"),
    (CHAT, {"stream": "true"}, "stream"),
    (CHAT, {"explain": 0}, "explain"),
    (CHAT, {"explain": "false"}, "explain"),
    (CHAT, {"stream": True, "stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
    (RECS, {"explain": 1}, "explain"),
    (RECS, {"explain": "no"}, "explain"),
])
def test_booleans_must_be_json_booleans(http, path, body, param):
    base = {"model": "scenebridge", "messages": HI} if path == CHAT else LIKES
    message = error(http.post(path, json={**base, **body}), 400, param=param, code="bool_type")["message"]
    assert message.startswith(f"{param}: ") and "true or false" in message


def test_real_booleans_still_work(http):
    streamed = http.post(CHAT, json={"model": "scenebridge:sci-fi", "messages": HI, "stream": True, "explain": False})
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")
    assert http.post(RECS, json={**LIKES, "k": 2, "explain": False}).status_code == 200


# -- 2, 3. bodies and lengths that cannot be read ------------------------------------------------
def test_a_body_that_is_not_utf8_is_invalid_json(http):
    body = '{"model": "scenebridge", "messages": [{"role": "user", "content": "Amélie"}]}'.encode("latin-1")
    message = error(http.post(CHAT, content=body, headers={"content-type": "application/json"}), 400,
                    code="invalid_json")["message"]
    assert "not valid UTF-8 JSON" in message and "0xe9" in message


def test_a_content_length_that_is_not_a_number_is_a_400_in_the_error_shape(http):
    headers = {"content-type": "application/json", "content-length": "abc"}
    message = error(http.post(CHAT, content=b"{}", headers=headers), 400, code="invalid_content_length")["message"]
    assert "Content-Length" in message and "digits only" in message
    # A length padded with spaces (httptools passes them on) is a length.
    padded = http.post(RECS, json=None, content=b"{}", headers={"content-type": "application/json",
                                                                 "content-length": "2 "})
    assert padded.status_code == 400 and padded.json()["error"]["code"] != "invalid_content_length"


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer


def test_uvicorn_refusals_are_in_the_error_shape():
    """uvicorn's parser refuses a bad Content-Length before any app sees it: the server's HTTP
    protocol (app.http_protocol) answers in OpenAI's shape instead of plain text."""
    async def unreachable(scope, receive, send):  # the refused requests never get here
        raise AssertionError("the app saw a request the parser refused")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(unreachable, host="127.0.0.1", port=port, lifespan="off",
                                           http=app_module.http_protocol(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        answers = [raw_exchange(port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                                + b"\r\ncontent-type: application/json\r\n\r\n{}") for length in (b"abc", b"-1", b"1e3")]
        broken = raw_exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    finally:
        server.should_exit = True
        thread.join(10)
    for answer, code in [*((a, "invalid_content_length") for a in answers), (broken, "invalid_http_request")]:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head.lower()
        error_body = json.loads(body)["error"]
        assert set(error_body) == {"message", "type", "param", "code"} and error_body["code"] == code


# -- 4, 5, 6. the field at fault -----------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "param"), [
    (CHAT, {"model": "scenebridge", "messages": HI, "user_id": ""}, "user_id"),
    (CHAT, {"model": "scenebridge", "messages": HI, "user_id": "   "}, "user_id"),
    (CHAT, {"model": "scenebridge", "messages": HI, "target_scene": ""}, "target_scene"),
    (RECS, {"user_id": "", "target_scene": "Sci-Fi"}, "user_id"),
    (RECS, {**LIKES, "target_scene": " "}, "target_scene"),
    (RECS, {**LIKES, "source_scene": ""}, "source_scene"),
    (RECS, {**LIKES, "likes": ["Groundhog Day", ""]}, "likes[1]"),
])
def test_a_blank_name_is_a_400_naming_it(http, path, body, param):
    message = error(http.post(path, json=body), 400, param=param, code="value_error")["message"]
    assert f"{param} is empty: " in message


def test_a_candidate_of_another_scene_is_blamed_on_candidates(http):
    body = {**LIKES, "likes": ["Annie Hall"], "candidates": ["Groundhog Day (1993)"]}  # a Comedy item
    message = error(http.post(RECS, json=body), 404, param="candidates", code="item_not_found")["message"]
    assert "Groundhog Day (1993)" in message and "Comedy item, not a Sci-Fi item" in message


def test_neither_user_nor_likes_has_its_own_message(http):
    neither = error(http.post(RECS, json={"target_scene": "Sci-Fi"}), 400, param="user_id")["message"]
    both = error(http.post(RECS, json={**LIKES, "user_id": "100k_1"}), 400, param="user_id")["message"]
    assert neither == "user_id: give user_id (a user of the dataset) or likes (titles the person likes)"
    assert both.endswith("not both") and "not both" not in neither


# -- 7. k ----------------------------------------------------------------------------------------
def test_k_is_served_in_full_up_to_its_cap(http):
    items = http.post(RECS, json={**LIKES, "k": MAX_K}).json()["items"]
    assert len(items) == MAX_K == 50 and [i["rank"] for i in items] == list(range(1, MAX_K + 1))
    chat = http.post(CHAT, json={"model": "scenebridge:sci-fi", "messages": HI, "k": 25, "explain": False}).json()
    assert len(chat["recommendations"]["items"]) == 25
    for path, base in ((RECS, LIKES), (CHAT, {"model": "scenebridge", "messages": HI})):
        message = error(http.post(path, json={**base, "k": MAX_K + 1}), 400, param="k", code="less_than_equal")["message"]
        assert message == f"k: Input should be less than or equal to {MAX_K}"


# -- 8, 9, 10. the key ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_key_is_no_key(store_path, monkeypatch, value):
    monkeypatch.setenv("SCENEBRIDGE_API_KEY", value)
    config = ServerConfig(store_dir=store_path)
    assert config.api_key is None  # what `scenebridge serve` prints as "API key: none"
    for app in (create_app(config), create_app(store_dir=store_path, api_key=value)):
        assert TestClient(app).get("/openapi.json").status_code == 200  # no key asked for


def test_a_key_is_read_without_surrounding_spaces(store_path, monkeypatch):
    monkeypatch.setenv("SCENEBRIDGE_API_KEY", f" {KEY}\n")
    client = TestClient(create_app(ServerConfig(store_dir=store_path)))
    assert client.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.get("/openapi.json").status_code == 401


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/v1/nothing-here"])
def test_the_schema_and_docs_need_the_key_when_one_is_set(app, http, path):
    anonymous = TestClient(app)  # the module's app, already started by ``http``
    refused = anonymous.get(path)
    error(refused, 401, code="invalid_api_key")
    assert refused.headers["www-authenticate"] == "Bearer"
    assert http.get(path).status_code == (404 if "nothing" in path else 200)
    assert anonymous.get("/health").status_code == 200  # the one open route


@pytest.mark.parametrize(("host", "key", "warned"), [
    ("0.0.0.0", None, True), ("::", None, True), ("192.168.1.20", None, True), ("my-box.lan", None, True),
    ("0.0.0.0", SecretStr(""), True), ("0.0.0.0", SecretStr(KEY), False),
    ("127.0.0.1", None, False), ("127.0.0.2", None, False), ("localhost", None, False), ("::1", None, False),
])
def test_listening_beyond_loopback_without_a_key_is_warned_about(host, key, warned):
    warning = exposure_warning(host, key)
    assert (warning is not None) == warned
    if warned:
        assert host in warning and "SCENEBRIDGE_API_KEY" in warning


def test_the_warning_is_logged_and_printed_at_start(monkeypatch, caplog, capsys, store_path):
    started = {}

    def fake_run(app, **options):  # the real uvicorn.run's signature: the app, then keywords
        started.update(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    app_module.run(ServerConfig(store_dir=store_path, api_key=""), host="0.0.0.0", port=8123)
    assert "without an API key" in capsys.readouterr().err
    assert any("without an API key" in r.getMessage() for r in caplog.records)
    assert started["host"] == "0.0.0.0" and issubclass(started["http"], AutoHTTPProtocol)
    app_module.run(ServerConfig(store_dir=store_path, api_key=KEY), host="0.0.0.0", port=8123)
    assert "without an API key" not in capsys.readouterr().err


# -- 11. user text stays text --------------------------------------------------------------------
IMAGE, LINK = "![x](http://evil.example/pixel.png)", "[click](http://evil.example)"


def rendered(markdown: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(markdown)


def test_markdown_in_user_text_is_not_rendered(http):
    ask = f'I loved "{IMAGE}" and "{LINK}" and "<img src=http://evil.example/a.png>"'
    answer = http.post(CHAT, json={"model": "scenebridge:sci-fi", "messages": [{"role": "user", "content": ask}]})
    text = answer.json()["choices"][0]["message"]["content"]
    assert "evil.example" in text  # echoed, as text
    html = rendered(text)
    assert "<img" not in html and "<a " not in html and "evil.example/pixel.png" in html


def test_titles_ids_and_notes_are_escaped_in_answers():
    odd = Item(item_id="x", title="![x](http://evil.example/t.png) *batteries* <b>", scene="Sci-Fi", year=1987)
    help_text = render.help_answer(scene="Sci-Fi", popular=[odd], examples=[odd, odd],
                                   unknown=[Unresolved(text=LINK, suggestions=("x",))],
                                   notes=[f"There is no user '{IMAGE}'."], items={"x": odd})
    html = rendered(help_text)
    assert "<img" not in html and "<a " not in html and "<b>" not in html
    assert "*batteries*" in html and "evil.example" in html  # shown as written
    assert render.md("user 1m_1") == "user 1m_1"  # an underscore inside a word is left alone
