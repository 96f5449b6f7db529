"""A fake LLM for unit tests of the code around the model (parsing, fallbacks, aggregation).
It implements the real ``LLMBackend`` contract; behaviour is scripted per test."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from agent.llm import Completion, LLMBackend


class FakeLLM:
    name = "fake"
    model = "fake-model"

    def __init__(self, answer: Callable[[str, dict], Completion | Exception], *, multi_token_labels: bool = False):
        self.answer = answer
        self.multi_token_labels = multi_token_labels
        self.prompts: list[str] = []
        self.calls: list[dict[str, Any]] = []

    async def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, logprobs: int | None = None,
                       allowed_token_ids: list[int] | None = None, json_schema: dict[str, Any] | None = None,
                       stop: list[str] | None = None) -> Completion:
        """The real signature (agent/llm/backend.py), so a call the real backends would refuse fails
        here too; the scripted answer sees every argument."""
        self.prompts.append(prompt)
        kwargs = {"max_tokens": max_tokens, "temperature": temperature, "logprobs": logprobs,
                  "allowed_token_ids": allowed_token_ids, "json_schema": json_schema, "stop": stop}
        self.calls.append(kwargs)
        result = self.answer(prompt, kwargs)
        if isinstance(result, Exception):
            raise result
        return result

    async def token_ids(self, text: str) -> list[int]:
        if self.multi_token_labels:
            return [1, 2]
        return [1000 + string.ascii_uppercase.index(text.strip())]

    async def aclose(self) -> None:
        return None


def labels_in(prompt: str) -> dict[str, str]:
    """Label -> candidate title line, from a verbalizer prompt."""
    return dict(re.findall(r"^([A-T])\. (.+?)(?: \[[^\]]*\])?(?: \|.*)?$", prompt, flags=re.MULTILINE))


def prefers(title_scores: dict[str, float]) -> Callable[[str, dict], Completion]:
    """A verbalizer fake whose label logprobs follow the given title scores."""
    import math

    def answer(prompt: str, kwargs: dict) -> Completion:
        if "sentence" in (kwargs.get("json_schema") or {}).get("properties", {}):
            return explanation(prompt)
        labels = labels_in(prompt)
        logprobs = {f" {label}": math.log(title_scores.get(title, 1e-6)) for label, title in labels.items()}
        best = max(logprobs, key=logprobs.get)
        return Completion(text=best, top_logprobs=logprobs, prompt_tokens=len(prompt) // 4)

    return answer


def explanation(prompt: str) -> Completion:
    """An explanation that cites the first listed title and one the user never saw."""
    import json

    first = re.findall(r"^- (.+)$", prompt, flags=re.MULTILINE)[0]
    return Completion(text=json.dumps({"sentence": f"Because you enjoyed {first}, this one should suit you.",
                                       "cites": [first, "Made Up Film (2031)"]}))


assert isinstance(FakeLLM(lambda p, k: Completion(text="")), LLMBackend)
