"""Hybrid ranking: an LLM ranker's scores fused with the candidate generators' scores.

The weights come from ``agent.fusion`` (fitted on validation users when a fit exists). When the
LLM fails, the hybrid still ranks, with the generators alone, and says so in ``fallback``. When
the weights give the LLM no say (a fit found it adds nothing), it is not called at all.
"""

from __future__ import annotations

from agent.fusion import LLM, FusionWeights, fuse
from agent.rankers.base import Ranker, Ranking, RankingRequest, order_by


class HybridRanker:
    name = "hybrid"

    def __init__(self, llm_ranker: Ranker, weights: FusionWeights | None = None):
        self.llm_ranker = llm_ranker
        self.weights = weights or FusionWeights()

    async def rank(self, request: RankingRequest) -> Ranking:
        if not self.weights.weights.get(LLM):
            scores = fuse(request.generator_scores, request.ids, self.weights.weights)
            return Ranking(ranker=self.name, item_ids=order_by(scores, request), scores=scores)
        inner = await self.llm_ranker.rank(request)
        components = dict(request.generator_scores)
        weights = dict(self.weights.weights)
        if inner.fallback is None:
            components[LLM] = inner.scores
        else:
            weights.pop(LLM, None)
        scores = fuse(components, request.ids, weights)
        return inner.model_copy(update={
            "ranker": f"{self.name}({inner.ranker})",
            "item_ids": order_by(scores, request),
            "scores": scores,
        })
