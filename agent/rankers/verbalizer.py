"""Verbalizer ranking (LlamaRec): label the candidates A, B, C…, ask for one token restricted to
the labels (``allowed_token_ids``), and read each label's probability from the logprobs.

One forward pass per call and nothing to parse. vLLM returns at most 20 logprobs, so more than
20 candidates run as a tournament: chunks of at most 20, the best of each chunk meet in a final.
Position bias is handled by ``permutations``: k candidate orders (balanced rotations by default),
probabilities averaged.
"""

from __future__ import annotations

import asyncio
import math
import string
import time

import numpy as np
from pydantic import BaseModel, Field

from agent.llm import LLMBackend, LLMBadOutput, LLMError
from agent.rankers.base import (
    OrderedConfig,
    OutputErrors,
    PromptInfo,
    Ranking,
    RankingRequest,
    answered_orders,
    candidate_orders,
    llm_fallback,
    order_by,
    prior_ranking,
)
from prompts import render, template_sha256

LABELS = string.ascii_uppercase[:20]  # vLLM's --max-logprobs default is 20


class VerbalizerConfig(OrderedConfig):
    template: str = "verbalizer"
    chunk_size: int = Field(default=20, ge=2, le=20)


def verbalizer_prompt(request: RankingRequest, ids: list[str], template: str = "verbalizer") -> str:
    """The prompt for ``ids`` in this order, labelled A, B, C…; tuning (agent/tuning) trains on
    exactly this text, so a tuned model sees at serving time what it learned on."""
    if len(ids) > len(LABELS):
        raise ValueError(f"{len(ids)} candidates: the verbalizer labels at most {len(LABELS)}")
    by_id = {c.item_id: c for c in request.candidates}
    labelled = [{"label": LABELS[n], **by_id[i].model_dump()} for n, i in enumerate(ids)]
    return render(template, **request.prompt_context(), candidates=labelled).text


class _Call(BaseModel):
    probabilities: dict[str, float]  # item id -> probability within its call
    seconds: float
    prompt_tokens: int


class VerbalizerRanker:
    name = "verbalizer"

    def __init__(self, llm: LLMBackend, config: VerbalizerConfig | None = None):
        self.llm = llm
        self.config = config or VerbalizerConfig()
        self._label_ids: dict[str, int] | None = None

    async def label_token_ids(self) -> dict[str, int]:
        """Token id of " A" … " T" (what follows "Answer:"); each must be a single token."""
        if self._label_ids is None:
            ids = await asyncio.gather(*(self.llm.token_ids(f" {label}") for label in LABELS))
            if any(len(t) != 1 for t in ids):
                raise LLMBadOutput("the model's tokenizer splits the labels A..T into several tokens",
                                   hint="use the listwise ranker with this model")
            self._label_ids = {label: t[0] for label, t in zip(LABELS, ids, strict=True)}
        return self._label_ids

    async def _score(self, request: RankingRequest, ids: list[str]) -> _Call:
        prompt = verbalizer_prompt(request, ids, self.config.template)
        label_ids = await self.label_token_ids()
        allowed = [label_ids[LABELS[n]] for n in range(len(ids))]
        completion = await self.llm.complete(prompt, max_tokens=1, logprobs=len(ids),
                                             allowed_token_ids=allowed)
        answer = completion.text.strip()
        if answer not in LABELS[: len(ids)]:
            raise LLMBadOutput(f"the model answered {completion.text!r}, not one of the labels")
        logprobs = {token.strip(): lp for token, lp in completion.top_logprobs.items()}
        raw = np.array([math.exp(logprobs[LABELS[n]]) if LABELS[n] in logprobs else 0.0
                        for n in range(len(ids))])
        if raw.sum() <= 0:
            raise LLMBadOutput("the model returned no logprobs for the labels",
                               hint="start vLLM with --logprobs-mode processed_logprobs")
        probabilities = raw / raw.sum()
        return _Call(probabilities=dict(zip(ids, probabilities.tolist(), strict=True)),
                     seconds=completion.seconds, prompt_tokens=completion.prompt_tokens)

    async def _tournament(self, request: RankingRequest, order: list[str]) -> tuple[dict[str, float], list[_Call]]:
        size = self.config.chunk_size
        if len(order) <= size:
            call = await self._score(request, order)
            return call.probabilities, [call]
        chunks = [list(c) for c in np.array_split(order, math.ceil(len(order) / size))]
        calls = list(await asyncio.gather(*(self._score(request, c) for c in chunks)))
        per_chunk = max(1, size // len(chunks))
        finalists = [i for call in calls for i in sorted(call.probabilities, key=call.probabilities.get,
                                                         reverse=True)[:per_chunk]]
        final = await self._score(request, finalists)
        # Finalists rank above everyone else; within each group, by probability.
        scores = {i: p for call in calls for i, p in call.probabilities.items()}
        scores.update({i: 1.0 + p for i, p in final.probabilities.items()})
        return scores, [*calls, final]

    async def rank(self, request: RankingRequest) -> Ranking:
        ids = request.ids
        if len(ids) < 2:
            return prior_ranking(request, self.name, None)
        orders = candidate_orders(ids, self.config.permutations, self.config.seed, self.config.orders)
        started = time.perf_counter()
        try:
            results, unparsed = await answered_orders(lambda order: self._tournament(request, order), orders)
        except LLMError as exc:
            return llm_fallback(request, self.name, exc)
        scores = {i: float(np.mean([r[0][i] for r in results])) for i in ids}
        calls = [c for _, cs in results for c in cs]
        return Ranking(
            ranker=self.name, item_ids=order_by(scores, request), scores=scores,
            prompt=PromptInfo(template=self.config.template, sha256=template_sha256(self.config.template)),
            errors=OutputErrors(invalid=unparsed), llm_calls=len(calls), llm_seconds=time.perf_counter() - started,
            prompt_tokens=sum(c.prompt_tokens for c in calls),
        )
