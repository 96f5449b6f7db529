"""The wire models against the domain models they stand for: a domain ``Recommendation`` goes
out as exactly the JSON it wrote itself (field for field, in order), and the HTTP request is the
domain query narrowed, with the same 400s as before. No store, no server: the end-to-end checks
read the running app's answers back with ``exactly``."""

from __future__ import annotations

import json
from typing import Any, TypeVar, get_args

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from agent.rankers import LLM_RANKERS, RANKERS, SERVING_RANKERS, OutputErrors, PromptInfo
from agent.requests import Recommendation, RecommendedItem, RecommendQuery, RecommendRequest
from retrievers import StoreInfo
from scenebridge.server.errors import _validation
from scenebridge.server.limits import WorkQueue
from scenebridge.server.protocol import (
    MAX_K,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    Health,
    ModelServerHealth,
    OutputErrorsOut,
    PromptInfoOut,
    RecommendationsRequest,
    RecommendationsResponse,
    RecommendedItemOut,
    StoreHealth,
    Usage,
)
from scenebridge.server.recommendations import to_wire

M = TypeVar("M", bound=BaseModel)


def exactly(model: type[M], data: Any) -> M:
    """``data`` read into ``model``, which must write it back unchanged: a field missing, extra or
    renamed fails instead of being ignored (the server tests read every answer through this)."""
    parsed = model.model_validate(data)
    assert parsed.model_dump(mode="json") == data, f"the JSON is not exactly a {model.__name__}"
    return parsed


def default(field: FieldInfo) -> Any:
    """A field's default as JSON (a wire model's default is its own class, not the domain's)."""
    return None if field.is_required() else to_jsonable_python(field.get_default(call_default_factory=True))


def sample(**changes) -> Recommendation:
    """Every field set, none at its default."""
    fields = {
        "user": None, "likes": ["Groundhog Day", "annie hall"], "target_scene": "Sci-Fi", "source_scene": "Comedy",
        "items": [
            RecommendedItem(item_id="Star Wars (1977)", title="Star Wars", rank=1, score=5.559776,
                            explanation="You enjoyed Annie Hall: Star Wars is the closest match.",
                            evidence=["Annie Hall (1977)", "Groundhog Day (1993)"], explanation_source="llm"),
            RecommendedItem(item_id="Contact (1997)", title="Contact", rank=2, score=-0.25),
        ],
        "ranker": "verbalizer", "prompt": PromptInfo(template="verbalizer", sha256="0f" * 32),
        "model": "qwen2.5-0.5b", "fallback": "the model's answer had no valid order", "candidates": 20,
        "timings": {"retrieval": 0.0695, "candidates": 0.002, "model": 1.5, "ranking": 1.51, "explanation": 0.3,
                    "total": 1.9},
        "errors": OutputErrors(invalid=1, out_of_candidates=2, duplicates=3, missing=4), "dropped_citations": 1,
    }
    return Recommendation(**{**fields, **changes})


@pytest.mark.parametrize("result", [
    sample(),
    sample(user="100k_1", likes=[], prompt=None, model=None, fallback=None, timings={}),
    Recommendation(user="1m_1", target_scene="Comedy", source_scene="Sci-Fi", items=[], ranker="popularity"),
], ids=["every-field", "a-user-no-model", "defaults"])
def test_the_wire_writes_what_the_domain_model_wrote(result):
    wire = to_wire(result)
    assert isinstance(wire, RecommendationsResponse)
    assert all(isinstance(i, RecommendedItemOut) for i in wire.items)
    assert wire.model_dump_json() == result.model_dump_json()  # the same bytes: keys, order, values
    assert wire.model_dump(mode="json") == result.model_dump(mode="json")
    assert wire.model_dump(mode="json") == json.loads(result.model_dump_json())


def test_the_chat_completion_carries_the_same_recommendation():
    result = sample()
    usage = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    completion = ChatCompletion(model="scenebridge", choices=[Choice(message=AssistantMessage(content="x"))],
                                usage=usage, recommendations=to_wire(result))
    chunk = ChatCompletionChunk(id="chatcmpl-1", created=1, model="scenebridge", choices=[],
                                recommendations=to_wire(result))
    for answer in (completion, chunk):
        assert answer.model_dump(mode="json")["recommendations"] == result.model_dump(mode="json")


@pytest.mark.parametrize(("wire", "domain"), [
    (RecommendationsResponse, Recommendation), (RecommendedItemOut, RecommendedItem),
    (PromptInfoOut, PromptInfo), (OutputErrorsOut, OutputErrors),
])
def test_each_wire_model_has_the_domain_fields_in_order(wire, domain):
    assert list(wire.model_fields) == list(domain.model_fields)
    for name, field in wire.model_fields.items():
        assert default(field) == default(domain.model_fields[name]), name
        assert field.is_required() == domain.model_fields[name].is_required(), name


def test_the_http_request_is_the_domain_query_narrowed():
    wire, query = RecommendationsRequest.model_fields, RecommendQuery.model_fields
    assert list(wire) == list(query)  # one list of fields, in the domain's order
    for name, field in wire.items():
        domain = query[name]
        assert field.description == domain.description or name == "ranker", name
        assert default(field) == default(domain) and field.is_required() == domain.is_required(), name
        if name != "ranker":
            assert field.annotation == domain.annotation, name
    choices, none = get_args(wire["ranker"].annotation)
    assert get_args(choices) == SERVING_RANKERS and none is type(None)  # None: the store's default ranker
    assert set(LLM_RANKERS) < set(SERVING_RANKERS) < set(RANKERS) and "random" not in SERVING_RANKERS
    assert {"n_candidates", "permutations"} <= set(RecommendRequest.model_fields) - set(wire)
    body = RecommendationsRequest(likes=["Groundhog Day"], target_scene="sci-fi", k=MAX_K, ranker="listwise")
    request = RecommendRequest.model_validate({**body.model_dump(), "target_scene": "Sci-Fi"})
    assert request.k == MAX_K and request.ranker == "listwise" and request.likes == ["Groundhog Day"]
    assert request.n_candidates == RecommendRequest.model_fields["n_candidates"].default


LIKES = {"likes": ["Groundhog Day"], "target_scene": "Sci-Fi"}


# What the endpoint answered before the wire request was derived from the domain query.
@pytest.mark.parametrize(("body", "param", "code", "message"), [
    ({**LIKES, "user_id": "100k_1"}, "user_id", "value_error",
     "user_id: give either user_id or likes (titles the person likes), not both"),
    # Since issue 16: neither has its own message; booleans are strict.
    ({"target_scene": "Sci-Fi"}, "user_id", "value_error",
     "user_id: give user_id (a user of the dataset) or likes (titles the person likes)"),
    ({**LIKES, "k": 0}, "k", "greater_than_equal", "k: Input should be greater than or equal to 1"),
    ({**LIKES, "k": 51}, "k", "less_than_equal", "k: Input should be less than or equal to 50"),
    ({**LIKES, "k": 500}, "k", "less_than_equal", "k: Input should be less than or equal to 50"),
    ({**LIKES, "k": "many"}, "k", "int_parsing", "k: Input should be a valid integer, unable to parse string as an integer"),
    ({**LIKES, "colour": "red"}, "colour", "extra_forbidden", "unknown parameter 'colour'"),
    ({**LIKES, "permutations": 3}, "permutations", "extra_forbidden", "unknown parameter 'permutations'"),
    ({**LIKES, "n_candidates": 30}, "n_candidates", "extra_forbidden", "unknown parameter 'n_candidates'"),
    ({**LIKES, "likes": "Groundhog Day"}, "likes", "list_type", "likes: Input should be a valid list"),
    ({**LIKES, "ranker": "popularity"}, "ranker", "literal_error",
     "ranker: Input should be 'backbone', 'ease', 'ials', 'rerank', 'verbalizer', 'listwise' or 'hybrid'"),
    ({**LIKES, "target_scene": "x" * 201}, "target_scene", "string_too_long",
     "target_scene: String should have at most 200 characters"),
    ({**LIKES, "source_scene": "x" * 201}, "source_scene", "string_too_long",
     "source_scene: String should have at most 200 characters"),
    ({"user_id": "x" * 201, "target_scene": "Sci-Fi"}, "user_id", "string_too_long",
     "user_id: String should have at most 200 characters"),
    ({**LIKES, "likes": ["a"] * 101}, "likes", "too_long",
     "likes: List should have at most 100 items after validation, not 101"),
    ({**LIKES, "candidates": []}, "candidates", "too_short",
     "candidates: List should have at least 1 item after validation, not 0"),
    ({**LIKES, "candidates": ["a"] * 101}, "candidates", "too_long",
     "candidates: List should have at most 100 items after validation, not 101"),
    ({**LIKES, "exclude": ["a"] * 101, "k": 0, "ranker": "x"}, "exclude", "too_long",
     "exclude: List should have at most 100 items after validation, not 101 (and 2 more problems)"),
    ({**LIKES, "explain": "perhaps"}, "explain", "bool_type",
     "explain: Input should be a valid boolean (true or false, without quotes)"),
    ({**LIKES, "explain": 1}, "explain", "bool_type",
     "explain: Input should be a valid boolean (true or false, without quotes)"),
    ({"likes": ["Groundhog Day"]}, "target_scene", "missing", "target_scene: Field required"),
    ({**LIKES, "likes": [1]}, "likes.0", "string_type", "likes.0: Input should be a valid string"),
])
def test_bad_requests_keep_their_openai_errors(body, param, code, message):
    with pytest.raises(ValidationError) as info:
        RecommendationsRequest.model_validate(body)
    response = _validation(RequestValidationError(info.value.errors()))
    assert response.status_code == 400
    assert json.loads(response.body) == {"error": {"message": message, "type": "invalid_request_error",
                                                   "param": param, "code": code}}


def test_health_keeps_its_keys():
    info = StoreInfo(complete=True, split="x", scenes=["Comedy", "Sci-Fi"], source="Comedy", target="Sci-Fi",
                     items=1682, users=943)
    store = StoreHealth(dataset="ml-100k", scenes=info.scenes, source=info.source, target=info.target, items=1664)
    health = Health(status="degraded", store=store, model_server=ModelServerHealth(url=None, state="disabled"),
                    explanations="evidence", queue=WorkQueue(2, 64, 60.0).stats())
    assert health.model_dump(mode="json") == {
        "status": "degraded",
        "store": {"dataset": "ml-100k", "scenes": ["Comedy", "Sci-Fi"], "source": "Comedy", "target": "Sci-Fi",
                  "items": 1664},
        "model_server": {"url": None, "state": "disabled", "models": [], "detail": None},
        "explanations": "evidence",
        "queue": {"running": 0, "waiting": 0, "slots": 2},
    }
