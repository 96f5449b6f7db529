"""The contract every LLM backend implements, and the registry that names them.

Built-in backends register exactly as an extension would: ``@register_backend("name")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from core.errors import NotFoundError


class Completion(BaseModel):
    text: str
    # Log-probabilities of the first generated position's top tokens, by token text.
    top_logprobs: dict[str, float] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@runtime_checkable
class LLMBackend(Protocol):
    name: str
    model: str

    async def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        logprobs: int | None = None,
        allowed_token_ids: list[int] | None = None,
        json_schema: dict[str, Any] | None = None,
        stop: list[str] | None = None,
    ) -> Completion: ...

    async def token_ids(self, text: str) -> list[int]: ...

    async def aclose(self) -> None: ...


_REGISTRY: dict[str, Callable[..., LLMBackend]] = {}


def register_backend(name: str):
    def decorate(factory):
        _REGISTRY[name] = factory
        return factory

    return decorate


def create_backend(name: str, **config: Any) -> LLMBackend:
    if name not in _REGISTRY:
        raise NotFoundError("LLM backend", name, hint=f"registered backends: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**config)
