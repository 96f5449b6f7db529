"""Hybrid ranking: an LLM ranker's scores fused with the candidate generators' scores.

The weights come from ``agent.fusion`` (fitted on validation users when a fit exists). When the
LLM fails, the hybrid still ranks, with the generators alone, and says so in ``fallback``. When
the weights give the LLM no say (a fit found it adds nothing), it is not called at all. A long
list (the full-catalogue protocol: every unseen item) is re-ranked at its head only: the LLM
reads the ``llm_top`` candidates the generators rank highest, which are re-ordered by the fused
score and stay above the rest, in the generators' order.
"""

from __future__ import annotations

from agent.fusion import LLM, FusionWeights, fuse
from agent.rankers.base import Ranker, Ranking, RankingRequest, order_by


class HybridRanker:
    name = "hybrid"

    def __init__(self, llm_ranker: Ranker, weights: FusionWeights | None = None, *, llm_top: int = 20):
        self.llm_ranker = llm_ranker
        self.weights = weights or FusionWeights()
        self.llm_top = llm_top

    async def rank(self, request: RankingRequest) -> Ranking:
        generators = fuse(request.generator_scores, request.ids, self.weights.weights)
        if not self.weights.weights.get(LLM):
            return Ranking(ranker=self.name, item_ids=order_by(generators, request), scores=generators)
        order = order_by(generators, request)
        top = set(order[: self.llm_top])
        head = request.model_copy(update={"candidates": [c for c in request.candidates if c.item_id in top]})
        inner = await self.llm_ranker.rank(head)
        components = {name: {i: s for i, s in scores.items() if i in top}
                      for name, scores in request.generator_scores.items()}
        weights = dict(self.weights.weights)
        if inner.fallback is None:
            components[LLM] = inner.scores
        else:
            weights.pop(LLM, None)
        scores = fuse(components, head.ids, weights)
        if len(head.ids) < len(request.ids):  # the tail keeps the generators' order, below the head
            floor = min(scores.values()) - 1.0
            tail = order[self.llm_top:]
            scores |= {i: floor - n for n, i in enumerate(tail)}
        return inner.model_copy(update={
            "ranker": f"{self.name}({inner.ranker})",
            "item_ids": order_by(scores, request),
            "scores": scores,
        })
