"""Wire models of the HTTP API (OpenAI's chat completion shapes plus scenebridge's own), apart
from the domain models (agent.requests): the serving code converts at the edge. Limits that
protect the server live here too."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from agent.rankers import SERVING_RANKERS
from agent.requests import RecommendQuery, check_name
from core.errors import ParamError

MAX_MESSAGES = 64
MAX_K = 50  # served in full: the agent generates at least k candidates
MAX_LIST = 100  # likes, candidates, exclude
MAX_NAME = 200  # a user id, a scene


# -- errors --------------------------------------------------------------------------------------
class ErrorInfo(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorInfo


# -- models --------------------------------------------------------------------------------------
class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "scenebridge"
    scene: str | None = Field(default=None, description="Target scene of this alias (None: from the message).")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# -- chat completions ---------------------------------------------------------------------------
class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


# Booleans are strict, as OpenAI's are: true or false, never "yes", 1 or "true".
class StreamOptions(BaseModel):
    include_usage: bool = Field(default=False, strict=True)


CHAT_NAME_FIXES = {
    "user_id": "give a user of the dataset (ML-1M: 1m_1), or leave user_id out and name liked titles in the message",
    "target_scene": "name a scene (GET /v1/models has one model per scene), or leave target_scene out",
}


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; sampling fields are accepted and ignored (the answer is a ranking).
    scenebridge's extras: ``user_id``, ``target_scene``, ``k``, ``explain``."""

    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="One answer per request.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    user: str | None = None
    # scenebridge's own
    user_id: str | None = Field(default=None, max_length=MAX_NAME, description="A user of the dataset.")
    target_scene: str | None = Field(default=None, max_length=MAX_NAME)
    k: int | None = Field(default=None, ge=1, le=MAX_K)
    explain: bool = Field(default=True, strict=True)

    @field_validator("user_id", "target_scene")
    @classmethod
    def _named(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_name(info.field_name, value, CHAT_NAME_FIXES[info.field_name])

    @model_validator(mode="after")
    def _asks_something(self) -> ChatCompletionRequest:
        # A front-end's task may come as a system message alone (LibreChat's titles, with its
        # titleMessageRole "system"): the chat layer tells it, or refuses it then (NO_USER_MESSAGE).
        if not any(m.role in ("user", "system", "developer") and m.text.strip() for m in self.messages):
            raise ParamError("messages", NO_USER_MESSAGE)
        return self


NO_USER_MESSAGE = "the conversation has no user message with text"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Understood(BaseModel):
    """What the server read from the conversation (an extra field; OpenAI clients ignore it)."""

    likes: list[str] = Field(default_factory=list, description="Item ids of the liked titles.")
    user_id: str | None = None
    target_scene: str
    exclude: list[str] = Field(default_factory=list)
    min_year: int | None = None
    max_year: int | None = None
    genres: list[str] = Field(default_factory=list, description="Genres asked for: a pick has one of them.")
    avoid_genres: list[str] = Field(default_factory=list, description="Genres no pick has.")
    topic: str | None = Field(default=None, description="What the picks lean towards (fused with the backbone).")
    page: int = 1
    unknown: list[str] = Field(default_factory=list, description="Text that looked like a title but matched none.")
    notes: list[str] = Field(default_factory=list)


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=completion_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    recommendations: RecommendationsResponse | None = None
    understood: Understood | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    recommendations: RecommendationsResponse | None = None
    understood: Understood | None = None


# -- structured recommendations ------------------------------------------------------------------
_QUERY = RecommendQuery.model_fields  # a narrowed field keeps the domain's default and description


class RecommendationsRequest(RecommendQuery):
    """The body of ``POST /v1/recommendations``: for whom (``user_id`` or ``likes``), the target
    scene and, optionally, the source scene, the items to rank or leave out, how many, ranked and
    explained how."""

    # The domain query (agent.requests.RecommendQuery) gives the fields, their defaults and the
    # user-or-likes rule; HTTP adds its limits: names and lists bounded, k at most MAX_K, booleans
    # strict (true or false, as OpenAI's), the LLM rankers and the backbones only, no unknown
    # parameter (RecommendRequest's n_candidates and permutations stay the server's).
    model_config = ConfigDict(extra="forbid")
    user_id: Annotated[str | None, _QUERY["user_id"], Field(max_length=MAX_NAME)]
    likes: Annotated[list[str], _QUERY["likes"], Field(max_length=MAX_LIST)]
    target_scene: Annotated[str, _QUERY["target_scene"], Field(max_length=MAX_NAME)]
    source_scene: Annotated[str | None, _QUERY["source_scene"], Field(max_length=MAX_NAME)]
    candidates: Annotated[list[str] | None, _QUERY["candidates"], Field(min_length=1, max_length=MAX_LIST)]
    exclude: Annotated[list[str], _QUERY["exclude"], Field(max_length=MAX_LIST)]
    k: Annotated[int, _QUERY["k"], Field(le=MAX_K)]
    explain: Annotated[bool, _QUERY["explain"], Field(strict=True)]
    ranker: Annotated[Literal[SERVING_RANKERS] | None, _QUERY["ranker"],
                      Field(description="How the items are ranked: backbone | ease | ials (collaborative) or "
                                        "verbalizer | listwise | hybrid (the model); default: the store's default "
                                        "ranker, chosen on validation users.")]


class PromptInfoOut(BaseModel):
    template: str = Field(description="The prompt template's name.")
    sha256: str = Field(description="Hash of the template's text.")


class OutputErrorsOut(BaseModel):
    """Counts of what the model got wrong in its answers."""

    invalid: int = 0
    out_of_candidates: int = 0
    duplicates: int = 0
    missing: int = 0


class RecommendedItemOut(BaseModel):
    item_id: str
    title: str
    rank: int
    score: float
    explanation: str | None = None
    evidence: list[str] = Field(default_factory=list, description="Ids of the user's items it rests on.")
    explanation_source: str | None = Field(default=None, description="'llm' or 'evidence'.")


class RecommendationsResponse(BaseModel):
    """A ranked, explained recommendation: the answer of ``POST /v1/recommendations``, and the
    ``recommendations`` field of a chat completion (the CLI's ``recommend --json`` prints the same)."""

    user: str | None
    likes: list[str] = Field(default_factory=list)
    target_scene: str
    source_scene: str
    items: list[RecommendedItemOut]
    ranker: str
    prompt: PromptInfoOut | None = None
    model: str | None = None
    fallback: str | None = Field(default=None, description="Why candidate scores ranked instead of the LLM.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per step.")
    candidates: int = Field(default=0, description="Candidates the ranker ranked.")
    errors: OutputErrorsOut = Field(default_factory=OutputErrorsOut)
    dropped_citations: int = 0


# -- health --------------------------------------------------------------------------------------
class StoreHealth(BaseModel):
    dataset: str
    scenes: list[str]
    source: str | None = Field(description="The source scene named at ingest, if any.")
    target: str | None
    items: int = Field(description="Items of the store's scenes.")


class ModelServerHealth(BaseModel):
    url: str | None
    state: Literal["ready", "unreachable", "disabled"]
    models: list[str] = Field(default_factory=list)
    detail: str | None = None


class QueueStats(BaseModel):
    running: int = Field(description="Recommendations being computed.")
    waiting: int = Field(description="Requests waiting for a slot.")
    slots: int = Field(description="Recommendations computed at once.")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    store: StoreHealth
    model_server: ModelServerHealth
    explanations: Literal["llm", "evidence"]
    queue: QueueStats
