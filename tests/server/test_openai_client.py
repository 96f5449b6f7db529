"""The endpoint through the official openai client (sync, async, streaming), as vLLM tests its
own server: a real scenebridge server process over the test store and a real vLLM."""

from __future__ import annotations

import asyncio
import statistics

import openai
import pytest

from scenebridge.server.protocol import RecommendationsResponse, Understood
from tests.server.test_protocol import exactly

pytestmark = [pytest.mark.slow, pytest.mark.live_llm]

ASK = "I loved Groundhog Day and Annie Hall — what sci-fi should I watch?"
QUIET = {"explain": False}  # no model-worded explanations: seconds each on this CPU


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key=server.key, timeout=180, max_retries=0)


def extras(completion) -> tuple[RecommendationsResponse | None, Understood]:
    """The structured fields OpenAI clients carry along without knowing them, each exactly its
    wire model (no field missing or extra)."""
    data = completion.model_extra or {}
    recommendation = data.get("recommendations")
    return (exactly(RecommendationsResponse, recommendation) if recommendation else None,
            exactly(Understood, data["understood"]))


def numbered(text: str) -> list[str]:
    return [line.split("**")[1] for line in text.splitlines() if line[:1].isdigit() and "**" in line]


def test_models_list_the_scenes(client, retriever):
    ids = [m.id for m in client.models.list().data]
    assert ids[0] == "scenebridge"
    assert set(ids[1:]) == {f"scenebridge:{s.lower()}" for s in retriever.scenes} == {
        "scenebridge:comedy", "scenebridge:sci-fi"}
    assert client.models.retrieve("scenebridge:sci-fi").id == "scenebridge:sci-fi"


def test_chat_resolves_titles_and_the_scene_and_explains(client):
    completion = client.chat.completions.create(
        model="scenebridge", messages=[{"role": "user", "content": ASK}], extra_body={"k": 2})
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "scenebridge"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text = choice.message.content
    recommendation, understood = extras(completion)
    assert understood.likes == ["Groundhog Day (1993)", "Annie Hall (1977)"]
    assert understood.target_scene == "Sci-Fi"
    assert recommendation.target_scene == "Sci-Fi" and recommendation.source_scene == "Comedy"
    assert len(recommendation.items) == 2
    assert all(i.explanation and i.evidence for i in recommendation.items)
    assert {e for i in recommendation.items for e in i.evidence} <= {"Groundhog Day (1993)", "Annie Hall (1977)"}
    # Markdown: title, why, evidence for each
    assert text.count("   - Why: ") == 2 and text.count("   - Evidence: ") == 2
    assert numbered(text) == [i.title for i in recommendation.items]
    assert "**Groundhog Day** (1993)" in text
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_model_alias_sets_the_scene_and_fields_override(client):
    ask = [{"role": "user", "content": "I enjoyed Star Wars and Alien"}]
    by_alias = client.chat.completions.create(model="scenebridge:comedy", messages=ask, extra_body=QUIET)
    recommendation, understood = extras(by_alias)
    assert understood.target_scene == "Comedy" and recommendation.target_scene == "Comedy"
    assert all(i.explanation is None for i in recommendation.items)
    by_field = client.chat.completions.create(model="scenebridge:comedy", messages=ask,
                                              extra_body={**QUIET, "target_scene": "sci-fi", "k": 3})
    recommendation, _ = extras(by_field)
    assert recommendation.target_scene == "Sci-Fi" and len(recommendation.items) == 3
    assert not {"Star Wars (1977)", "Alien (1979)"} & {i.item_id for i in recommendation.items}


def test_a_known_user_by_field(client):
    completion = client.chat.completions.create(
        model="scenebridge:sci-fi", messages=[{"role": "user", "content": "what next?"}],
        extra_body={**QUIET, "user_id": "100k_1", "k": 3})
    recommendation, understood = extras(completion)
    assert recommendation.user == "100k_1" and understood.user_id == "100k_1"
    assert "user **100k_1**" in completion.choices[0].message.content


def test_later_turns_refine(client, retriever):
    messages = [{"role": "user", "content": ASK}]

    def turn(text: str | None = None):
        if text:
            messages.append({"role": "user", "content": text})
        completion = client.chat.completions.create(model="scenebridge", messages=messages, extra_body=QUIET)
        messages.append({"role": "assistant", "content": completion.choices[0].message.content})
        return extras(completion)

    first, _ = turn()
    first_ids = [i.item_id for i in first.items]
    median = int(statistics.median(i.year for i in retriever.items(first_ids)))

    older, understood = turn("something older")
    assert understood.likes == ["Groundhog Day (1993)", "Annie Hall (1977)"]  # kept from the first turn
    assert understood.max_year == median - 1  # older than the last answer's median year
    assert all(i.year < median for i in retriever.items([r.item_id for r in older.items]))

    no_star_wars, understood = turn("not Star Wars")
    assert "Star Wars (1977)" in understood.exclude
    assert "Star Wars (1977)" not in [i.item_id for i in no_star_wars.items]
    assert understood.max_year is not None  # still older

    more, understood = turn("more")
    assert understood.page == 2
    assert not {i.item_id for i in more.items} & {i.item_id for i in no_star_wars.items}
    assert "Star Wars (1977)" not in [i.item_id for i in more.items]

    newer, understood = turn("newer")
    assert understood.min_year is not None and understood.max_year is None
    assert all(i.year >= understood.min_year for i in retriever.items([r.item_id for r in newer.items]))


def test_no_known_title_gets_help_not_an_error(client):
    completion = client.chat.completions.create(
        model="scenebridge:sci-fi", messages=[{"role": "user", "content": "hi! anything good on tonight?"}])
    recommendation, understood = extras(completion)
    text = completion.choices[0].message.content
    assert recommendation is None and understood.likes == [] and understood.target_scene == "Sci-Fi"
    assert "What I understood" in text and "I loved" in text  # what it read, and how to ask
    assert "**Star Wars** (1977)" in text  # the scene's best-known items


def test_streaming_sends_chunks_usage_last_and_matches_the_plain_answer(client):
    messages = [{"role": "user", "content": "I liked Clerks and Clueless. Any science fiction?"}]
    plain = client.chat.completions.create(model="scenebridge", messages=messages, extra_body=QUIET)
    stream = client.chat.completions.create(model="scenebridge", messages=messages, extra_body=QUIET,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == plain.usage.total_tokens
    assert all(c.usage is None for c in chunks[:-1])
    recommendation = exactly(RecommendationsResponse, finals[0].model_extra["recommendations"])
    assert [i.item_id for i in recommendation.items] == [i.item_id for i in extras(plain)[0].items]


def test_streaming_without_usage(client):
    stream = client.chat.completions.create(
        model="scenebridge", stream=True, extra_body=QUIET,
        messages=[{"role": "user", "content": "I loved Clueless, sci-fi please"}])
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_async_client_in_parallel(server):
    async def go():
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key=server.key, timeout=180,
                                      max_retries=0) as client:
            asks = ["I loved Groundhog Day", "I loved Annie Hall", "I loved Clerks", "I loved Liar Liar"]
            return await asyncio.gather(*(
                client.chat.completions.create(model="scenebridge:sci-fi", extra_body=QUIET,
                                               messages=[{"role": "user", "content": a}]) for a in asks))

    completions = asyncio.run(go())
    assert len({c.id for c in completions}) == 4
    for completion in completions:
        recommendation, _ = extras(completion)
        assert recommendation.target_scene == "Sci-Fi" and len(recommendation.items) == 5


def test_errors_reach_the_client_as_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "model_not_found" and info.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="scenebridge", messages=[{"role": "user", "content": "hi"}],
                                       extra_body={"k": 0})
    assert info.value.body["param"] == "k"
    bad = openai.OpenAI(base_url=client.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
