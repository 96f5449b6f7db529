"""The OpenAI-compatible backend: the official ``openai`` async client against vLLM (or any
OpenAI-compatible server). vLLM extensions (``allowed_token_ids``, ``structured_outputs``,
``/tokenize``) are sent as extra body fields; other servers may ignore or refuse them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
from pydantic import BaseModel, Field

from agent.llm.backend import Completion, register_backend
from agent.llm.errors import LLMBadOutput, LLMError, LLMTimeout, LLMUnavailable


class OpenAIBackendConfig(BaseModel):
    base_url: str = Field(description="Server URL ending in /v1, e.g. http://127.0.0.1:8011/v1")
    model: str | None = Field(default=None, description="Served model name; None asks the server.")
    api_key: str = "EMPTY"
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, description="Retries with backoff on connection errors, 429, 5xx.")
    concurrency: int = Field(default=8, ge=1, description="Requests in flight at once.")


@register_backend("openai")
class OpenAIBackend:
    name = "openai"

    def __init__(self, **config: Any):
        self.config = OpenAIBackendConfig(**config)
        # The client retries connection errors, 408/409/429 and 5xx with exponential backoff.
        self.client = openai.AsyncOpenAI(base_url=self.config.base_url, api_key=self.config.api_key,
                                         timeout=self.config.timeout_s, max_retries=self.config.max_retries)
        self._limit = asyncio.Semaphore(self.config.concurrency)
        self._model = self.config.model
        self._token_cache: dict[str, list[int]] = {}

    def set_limits(self, *, timeout_s: float, max_retries: int) -> None:
        """A new per-call timeout and retry count (the server keeps both short: a call may then
        wait at most about ``timeout_s * (max_retries + 1)`` plus a second of backoff)."""
        self.config = self.config.model_copy(update={"timeout_s": timeout_s, "max_retries": max_retries})
        self.client = self.client.with_options(timeout=timeout_s, max_retries=max_retries)

    @property
    def model(self) -> str:
        return self._model or "unknown"

    async def resolve_model(self) -> str:
        if self._model is None:
            models = await self._call(self.client.models.list())
            if not models.data:
                raise LLMBadOutput(f"the server at {self.config.base_url} serves no model")
            self._model = models.data[0].id
        return self._model

    async def _call(self, awaitable):
        try:
            async with self._limit:
                return await awaitable
        except openai.APITimeoutError:
            raise LLMTimeout(f"the model server at {self.config.base_url} did not answer within "
                             f"{self.config.timeout_s:.0f} s", hint="raise the timeout or use a faster server") from None
        except openai.APIConnectionError:
            raise LLMUnavailable(f"cannot reach the model server at {self.config.base_url}",
                                 hint="start it with 'scenebridge llm serve' or pass --llm-url") from None
        except openai.APIStatusError as exc:
            raise LLMError(f"the model server refused the request ({exc.status_code}): {_detail(exc)}",
                           hint="check the model name and the server's limits") from None

    async def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0,
                       logprobs: int | None = None, allowed_token_ids: list[int] | None = None,
                       json_schema: dict[str, Any] | None = None, stop: list[str] | None = None) -> Completion:
        model = await self.resolve_model()
        extra: dict[str, Any] = {}
        if allowed_token_ids is not None:
            extra["allowed_token_ids"] = allowed_token_ids
        if json_schema is not None:
            extra["structured_outputs"] = {"json": json_schema}
        started = time.perf_counter()
        response = await self._call(self.client.completions.create(
            model=model, prompt=prompt, max_tokens=max_tokens, temperature=temperature,
            logprobs=logprobs, stop=stop, extra_body=extra or None,
        ))
        seconds = time.perf_counter() - started
        if not response.choices:
            raise LLMBadOutput("the model server returned no choices")
        choice = response.choices[0]
        top: dict[str, float] = {}
        if logprobs and choice.logprobs and choice.logprobs.top_logprobs:
            top = dict(choice.logprobs.top_logprobs[0] or {})
        usage = response.usage
        return Completion(
            text=choice.text or "", top_logprobs=top, seconds=seconds,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens, from vLLM's /tokenize endpoint."""
        if text not in self._token_cache:
            model = await self.resolve_model()
            root = self.config.base_url.rstrip("/").removesuffix("/v1")
            try:
                async with self._limit, httpx.AsyncClient(timeout=self.config.timeout_s) as http:
                    reply = await http.post(f"{root}/tokenize", json={
                        "model": model, "prompt": text, "add_special_tokens": False})
            except httpx.TimeoutException:
                raise LLMTimeout(f"tokenize timed out at {root}") from None
            except httpx.HTTPError:
                raise LLMUnavailable(f"cannot reach the model server at {root}",
                                     hint="start it with 'scenebridge llm serve' or pass --llm-url") from None
            if reply.status_code != 200:
                raise LLMError(f"the server at {root} has no usable /tokenize endpoint ({reply.status_code})",
                               hint="the verbalizer ranker needs a vLLM server")
            self._token_cache[text] = list(reply.json()["tokens"])
        return self._token_cache[text]

    async def aclose(self) -> None:
        await self.client.close()


def _detail(exc: openai.APIStatusError) -> str:
    try:
        body = exc.response.json()
        return str(body.get("error", {}).get("message") or body.get("message") or body)[:300]
    except Exception:  # noqa: BLE001 - any unparsable body
        return exc.response.text[:300]
