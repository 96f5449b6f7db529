"""Listwise ranking (LLMRank): the model writes the candidate ids in order.

Generation is constrained by a JSON schema whose items are an enum of the candidate ids, so an
id outside the list cannot be written; duplicates and omissions are still possible (the schema
does not enforce uniqueness) and are counted, then repaired by the candidate scores.
Permutations are aggregated by Borda count.
"""

from __future__ import annotations

import json
import time

from pydantic import Field

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

TOKENS_PER_ID = 24  # generous: titles with year, quotes and a comma


class ListwiseConfig(OrderedConfig):
    template: str = "listwise"
    max_candidates: int = Field(default=30, ge=2, description="Beyond this, only the prior's top are listed.")


def ranking_schema(ids: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {"ranking": {"type": "array", "items": {"type": "string", "enum": ids},
                                   "minItems": len(ids), "maxItems": len(ids)}},
        "required": ["ranking"],
        "additionalProperties": False,
    }


def parse_ranking(text: str, ids: list[str]) -> tuple[list[str], OutputErrors]:
    """The model's list, de-duplicated and restricted to the candidates, with what was wrong."""
    try:
        listed = json.loads(text)["ranking"]
        if not isinstance(listed, list):
            raise TypeError
    except (json.JSONDecodeError, KeyError, TypeError):
        raise LLMBadOutput(f"the model's answer is not the JSON asked for: {text[:120]!r}") from None
    allowed, seen, ranked = set(ids), set(), []
    errors = OutputErrors()
    for entry in listed:
        if entry not in allowed:
            errors.out_of_candidates += 1
        elif entry in seen:
            errors.duplicates += 1
        else:
            seen.add(entry)
            ranked.append(entry)
    errors.missing = len(ids) - len(ranked)
    return ranked, errors


class ListwiseRanker:
    name = "listwise"

    def __init__(self, llm: LLMBackend, config: ListwiseConfig | None = None):
        self.llm = llm
        self.config = config or ListwiseConfig()

    async def _one(self, request: RankingRequest, order: list[str]) -> tuple[list[str], OutputErrors, int]:
        by_id = {c.item_id: c for c in request.candidates}
        prompt = render(self.config.template, **request.prompt_context(),
                        candidates=[by_id[i].model_dump() for i in order])
        completion = await self.llm.complete(prompt.text, max_tokens=TOKENS_PER_ID * len(order) + 16,
                                             json_schema=ranking_schema(order))
        ranked, errors = parse_ranking(completion.text, order)
        return ranked, errors, completion.prompt_tokens

    async def rank(self, request: RankingRequest) -> Ranking:
        ids = request.ids
        if len(ids) < 2:
            return prior_ranking(request, self.name, None)
        listed = order_by(request.prior, request)[: self.config.max_candidates] if len(ids) > \
            self.config.max_candidates else ids
        orders = candidate_orders(listed, self.config.permutations, self.config.seed, self.config.orders)
        started = time.perf_counter()
        try:
            results, unparsed = await answered_orders(lambda order: self._one(request, order), orders)
        except LLMError as exc:
            return llm_fallback(request, self.name, exc)
        # Borda: a listed item earns (n - position); an omitted one earns nothing from that list.
        n = len(listed)
        scores = {i: 0.0 for i in ids}
        errors = OutputErrors(invalid=unparsed)
        for ranked, call_errors, _ in results:
            for position, item_id in enumerate(ranked):
                scores[item_id] += (n - position) / (n * len(results))
            for field in ("out_of_candidates", "duplicates", "missing"):
                setattr(errors, field, getattr(errors, field) + getattr(call_errors, field))
        return Ranking(
            ranker=self.name, item_ids=order_by(scores, request), scores=scores,
            prompt=PromptInfo(template=self.config.template, sha256=template_sha256(self.config.template)),
            errors=errors, llm_calls=len(orders), llm_seconds=time.perf_counter() - started,
            prompt_tokens=sum(r[2] for r in results),
        )
