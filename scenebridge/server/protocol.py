"""Wire models of the HTTP API (OpenAI's chat completion shapes plus scenebridge's own); the
domain models (agent.requests) stay apart. Limits that protect the server live here too."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.requests import Recommendation

MAX_MESSAGES = 64
MAX_K = 50
MAX_LIST = 100  # likes, candidates, exclude


class ParamError(ValueError):
    """A validator's complaint about one parameter (the error handler names it)."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


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


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; sampling fields are accepted and ignored (the answer is a ranking).
    scenebridge's extras: ``user_id``, ``target_scene``, ``k``, ``explain``."""

    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="One answer per request.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    user: str | None = None
    # scenebridge's own
    user_id: str | None = Field(default=None, max_length=200, description="A user of the dataset.")
    target_scene: str | None = Field(default=None, max_length=200)
    k: int | None = Field(default=None, ge=1, le=MAX_K)
    explain: bool = True

    @model_validator(mode="after")
    def _asks_something(self) -> ChatCompletionRequest:
        if not any(m.role == "user" and m.text.strip() for m in self.messages):
            raise ParamError("messages", "the conversation has no user message with text")
        return self


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
    recommendations: Recommendation | None = None
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
    recommendations: Recommendation | None = None
    understood: Understood | None = None


# -- structured recommendations ------------------------------------------------------------------
class RecommendationsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, max_length=200)
    likes: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    target_scene: str = Field(max_length=200)
    source_scene: str | None = Field(default=None, max_length=200)
    candidates: list[str] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    exclude: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    k: int = Field(default=10, ge=1, le=MAX_K)
    explain: bool = True
    ranker: Literal["verbalizer", "listwise", "hybrid"] = "verbalizer"

    @model_validator(mode="after")
    def _one_person(self) -> RecommendationsRequest:
        if (self.user_id is None) == (not self.likes):
            raise ParamError("user_id", "give either user_id or likes (titles the person likes), not both")
        return self


# -- health --------------------------------------------------------------------------------------
class ModelServerHealth(BaseModel):
    url: str | None
    state: Literal["ready", "unreachable", "disabled"]
    models: list[str] = Field(default_factory=list)
    detail: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    store: dict[str, Any]
    model_server: ModelServerHealth
    explanations: str
    queue: dict[str, int]
