"""An instruct model's reading of a chat request (scenebridge/server/chat/model_intent.py): its
record resolved to ids, merged with the rules' only where the request's words support it (the
records here are written by hand, as a small model writes them: invented titles, years and
genres), failures returned rather than raised; then the live packaged instruct model on requests
of the labelled set, merged, never worse than the rules alone."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scenebridge.server.chat.conversation import Turn
from scenebridge.server.chat.intent import ChatIntent, field_right, load_labelled, read, scored_fields
from scenebridge.server.chat.model_intent import IntentModel, ModelRecord, merge, messages, schema, to_intent
from scenebridge.server.launcher import free_port
from tests.server import test_chat_intents, test_chat_parse

LABELLED = Path(__file__).resolve().parents[1] / "data" / "chat_requests.jsonl"
INSTRUCT = "qwen2.5-coder-0.5b-instruct"

catalogue = test_chat_parse.catalogue  # ML-100k's titles, scenes and popularity, no store
ml1m_catalogue = test_chat_intents.ml1m_catalogue  # ML-1M's: the labelled set's titles


def turns(text: str) -> list[Turn]:
    return [Turn("user", text)]


def test_the_schema_names_the_store_s_scenes_and_genres_and_bounds_every_list(catalogue):
    genres = catalogue.parser.genres.genres
    made = schema(list(catalogue.retriever.scenes), genres)
    fields = made["properties"]
    assert set(made["required"]) == set(ModelRecord.model_fields) == set(fields)
    assert fields["scene"]["enum"] == [*catalogue.retriever.scenes, None]
    assert fields["genres"]["items"]["enum"] == genres and fields["genres"]["maxItems"] == 3
    assert all(fields[f]["maxItems"] for f in ("liked_titles", "excluded_titles", "avoid_genres"))
    system, user = messages([Turn("user", "a"), Turn("assistant", "b"), Turn("user", "c")], ["Comedy", "Sci-Fi"])
    assert "Comedy, Sci-Fi" in system["content"] and user["content"] == "Earlier, they said: a\nNow they say: c"


def test_titles_resolve_once_to_ids_and_what_the_store_lacks_is_dropped(catalogue):
    record = ModelRecord(liked_titles=["The Princess Bride", "Groundhog Day (1993)", "A Film Nobody Made"],
                         excluded_titles=["Star Wars"], scene="Westerns", genres=["Drama", "Cyberpunk"])
    intent = to_intent(record, catalogue)
    assert intent.likes == ["Princess Bride, The (1987)", "Groundhog Day (1993)"]
    assert intent.exclude == ["Star Wars (1977)"]
    assert intent.target_scene is None and intent.genres == ["Drama"]


def test_the_rules_stand_and_the_model_fills_only_what_the_request_says(catalogue):
    text = "I loved Groundhog Day. Sci-fi, something thoughtful? Maybe five of them."
    rules = read(turns(text), catalogue)
    assert rules.likes == ["Groundhog Day (1993)"] and rules.k is None  # what the model may add: the count
    invented = ModelRecord(
        liked_titles=["Annie Hall", "The Matrix"],  # neither is in the request
        scene="Sci-Fi", genres=["Drama"], avoid_genres=["Horror", "Action"],  # no genre named
        min_year=1980, max_year=1989,  # no year written
        count=5, topic="thoughtful time travel")  # five is written; "time travel" is not
    merged = merge(rules, to_intent(invented, catalogue), turns(text), catalogue)
    assert merged.likes == rules.likes and merged.target_scene == "Sci-Fi"
    assert merged.genres == merged.avoid_genres == [] and merged.min_year is merged.max_year is None
    assert merged.k == 5
    assert merged.topic == rules.topic  # the rules read the topic: theirs stands


def test_a_year_a_genre_and_a_title_the_request_writes_are_taken_from_the_model(catalogue):
    text = "Anything like Annie Hall from the eighties, but nothing scary? Not Star Wars."
    rules = ChatIntent()  # as if the rules had read nothing
    record = ModelRecord(liked_titles=["Annie Hall"], excluded_titles=["Star Wars", "Alien"], min_year=1980,
                         max_year=1989, avoid_genres=["Horror"], genres=["Comedy"], count=3)
    merged = merge(rules, to_intent(record, catalogue), turns(text), catalogue)
    assert merged.likes == ["Annie Hall (1977)"] and merged.exclude == ["Star Wars (1977)"]
    assert (merged.min_year, merged.max_year) == (1980, 1989)
    assert merged.avoid_genres == ["Horror"] and merged.genres == []  # "scary" names Horror; nothing names Comedy
    assert merged.k is None  # no number written


def test_contradictions_fall_back_to_the_rules(catalogue):
    text = "I loved Annie Hall, not Annie Hall"
    rules = ChatIntent(likes=["Annie Hall (1977)"])
    record = ModelRecord(excluded_titles=["Annie Hall"])
    assert merge(rules, to_intent(record, catalogue), turns(text), catalogue).exclude == []
    task = ChatIntent(kind="task")
    assert merge(task, ChatIntent(likes=["Annie Hall (1977)"]), turns(text), catalogue) == task


def test_an_unreachable_model_is_a_reading_with_an_error_not_an_exception(catalogue):
    reader = IntentModel(f"http://127.0.0.1:{free_port()}/v1", model=INSTRUCT, timeout_s=5)
    reading = asyncio.run(reader.read(turns("I loved Annie Hall"), catalogue))
    assert reading.record is None and reading.intent is None
    assert reading.error and "Connection" in reading.error


# -- the live instruct model -------------------------------------------------------------------
@pytest.fixture(scope="module")
def chat_llm_url():
    """The packaged instruct model under vLLM: the one answering at SCENEBRIDGE_TEST_CHAT_LLM_URL
    or the usual second port, else one started here (prepared first) and stopped at the end."""
    from agent.llm.models import prepare_model
    from agent.llm.server import is_ready, start_server, stop_server, wait_ready
    from core.settings import get_settings

    settings = get_settings()
    url = os.environ.get("SCENEBRIDGE_TEST_CHAT_LLM_URL") or settings.local_chat_llm_url
    if is_ready(url):
        yield url
        return
    model_dir = prepare_model(INSTRUCT, settings.cache_dir, progress=False)
    process = start_server(model_dir, INSTRUCT, settings.chat_llm_port, settings.llm_host, 1.0,
                           max_model_len=settings.llm_max_model_len)
    try:
        wait_ready(url, process, settings.llm_start_timeout, progress=False)
        yield url
    finally:
        stop_server(process)




@pytest.mark.live_llm
@pytest.mark.realdata
@pytest.mark.slow
def test_the_live_instruct_model_reads_records_and_the_merge_is_never_worse_than_the_rules(
        chat_llm_url, ml1m_catalogue):
    rows = [r for r in load_labelled(LABELLED) if r.intent.kind == "recommend"][::6][:8]
    reader = IntentModel(chat_llm_url, timeout_s=120)
    readings = asyncio.run(_read_all(reader, rows, ml1m_catalogue))
    assert sum(r.record is not None for r in readings) >= len(rows) - 1, [r.error for r in readings]
    for row, reading in zip(rows, readings, strict=True):
        rules = read(row.turns, ml1m_catalogue)
        merged = merge(rules, reading.intent, row.turns, ml1m_catalogue)
        for field in scored_fields(row.intent):
            if field_right(field, row.intent, rules):
                assert field_right(field, row.intent, merged), (row.name, field, getattr(merged, field))


async def _read_all(reader: IntentModel, rows, known):
    return [await reader.read(row.turns, known) for row in rows]


# -- the server, with an instruct model beside the rules ----------------------------------------
ASK_WITH_COUNT = "I loved Groundhog Day. Some sci-fi, maybe five of them?"  # the rules read no count here


def test_the_server_answers_from_the_rules_when_the_instruct_model_is_down(store_path, caplog):
    from fastapi.testclient import TestClient

    from serve import create_app

    app = create_app(store_dir=store_path, use_llm=False, chat_llm_url=f"http://127.0.0.1:{free_port()}/v1",
                     chat_llm_model=INSTRUCT)
    with TestClient(app) as client:
        response = client.post("/v1/chat/completions", json={
            "model": "scenebridge", "explain": False, "messages": [{"role": "user", "content": ASK_WITH_COUNT}]})
    assert response.status_code == 200
    understood = response.json()["understood"]
    assert understood["likes"] == ["Groundhog Day (1993)"] and understood["target_scene"] == "Sci-Fi"
    assert len(response.json()["recommendations"]["items"]) == 5  # the default k: no count was read
    assert any("the rules' reading stands" in r.message for r in caplog.records)


@pytest.mark.live_llm
@pytest.mark.slow
def test_the_server_asks_the_live_instruct_model_and_keeps_the_rules_reading(chat_llm_url, store_path):
    from fastapi.testclient import TestClient

    from serve import create_app

    app = create_app(store_dir=store_path, use_llm=False, chat_llm_url=chat_llm_url, chat_llm_timeout_s=120.0,
                     request_timeout_s=300.0)
    with TestClient(app) as client:
        reader = app.state.scenebridge.reader
        asked = []
        real = reader.read

        async def counted(turns, known):
            asked.append(turns[-1].text)
            return await real(turns, known)

        reader.read = counted
        response = client.post("/v1/chat/completions", json={
            "model": "scenebridge", "explain": False, "messages": [{"role": "user", "content": ASK_WITH_COUNT}]})
        hello = client.post("/v1/chat/completions", json={
            "model": "scenebridge", "messages": [{"role": "user", "content": "hello!"}]})
    assert response.status_code == 200 and hello.status_code == 200
    assert asked == [ASK_WITH_COUNT]  # small talk is told by the rules, never sent to the model
    understood = response.json()["understood"]
    assert understood["likes"] == ["Groundhog Day (1993)"] and understood["target_scene"] == "Sci-Fi"
