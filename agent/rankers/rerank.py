"""``rerank``: the LLM re-orders the backbone's best candidates, reading each one's collaborative
evidence (prompt v2, ``prompts/templates/rerank.jinja``).

The head is the candidates the request carries support for (the recommender attaches it to the
backbone's top ``head``), listed in the backbone's order: with one order the model's position
prior is the backbone's ranking (LlamaRec at test time); with ``permutations`` k > 1 the extra
orders are rotations of it, balanced over positions. The verbalizer scores the head; the rest of a
long list (the full-catalogue protocol) stays below it in the backbone's order. ``Ranking.positions``
gives each re-ranked candidate's place in the backbone's order, so an evaluation can report
accuracy by where the true item started. ``prior_weight`` w > 0 blends the backbone back in:
a head candidate scores log p(model) - w * log(its backbone place) (the hybrid of both; w is
fitted on validation users, evals/rerank_blend.py).
"""

from __future__ import annotations

import math

from pydantic import Field

from agent.llm import LLMBackend
from agent.rankers.base import OrderedConfig, Ranking, RankingRequest, order_by
from agent.rankers.verbalizer import LABELS, VerbalizerConfig, VerbalizerRanker
from core.errors import ScenebridgeError

BACKBONE = "backbone"


class RerankConfig(OrderedConfig):
    template: str = "rerank"
    head: int = Field(default=20, ge=2, le=len(LABELS), description="Candidates the model re-orders.")
    prior_weight: float = Field(default=0.0, ge=0.0, description="Weight of the backbone's order blended "
                                "into the model's log-probabilities (0: the model alone).")


def blend(probabilities: dict[str, float], positions: dict[str, int], prior_weight: float) -> dict[str, float]:
    """The head's scores: the model's log-probability, plus ``prior_weight`` times the log-prior
    of the backbone's place (-log place). With weight 0 the order is the model's."""
    if prior_weight == 0:
        return dict(probabilities)
    return {i: math.log(max(p, 1e-12)) - prior_weight * math.log(positions[i]) for i, p in probabilities.items()}


def backbone_order(request: RankingRequest) -> list[str]:
    """The candidates best first by the backbone: its rank where support says, then its score."""
    scores = request.generator_scores.get(BACKBONE, {})
    ranks = {c.item_id: c.support.rank for c in request.candidates if c.support is not None}
    return sorted(request.ids, key=lambda i: (ranks.get(i, len(ranks) + 1), -scores.get(i, float("-inf"))))


class RerankRanker:
    name = "rerank"

    def __init__(self, llm: LLMBackend, config: RerankConfig | None = None):
        self.config = config or RerankConfig()
        self.inner = VerbalizerRanker(llm, VerbalizerConfig(
            template=self.config.template, permutations=self.config.permutations, seed=self.config.seed,
            orders="balanced"))

    async def rank(self, request: RankingRequest) -> Ranking:
        if not any(c.support is not None for c in request.candidates):
            raise ScenebridgeError("the rerank ranker needs each candidate's collaborative evidence",
                                   hint="build the request with Recommender.ranking_request(..., support_from=data)",
                                   param="ranker")
        order = backbone_order(request)
        head_ids = order[: self.config.head]
        by_id = {c.item_id: c for c in request.candidates}
        head = request.model_copy(update={"candidates": [by_id[i] for i in head_ids]})
        inner = await self.inner.rank(head)
        positions = {i: n + 1 for n, i in enumerate(head_ids)}
        if inner.fallback is None:
            scores = blend(inner.scores, positions, self.config.prior_weight)
        else:  # the model failed: the backbone's order, and the reason in ``fallback``
            scores = {i: -float(p) for i, p in positions.items()}
        floor = min(scores.values(), default=0.0) - 1.0
        scores |= {i: floor - n for n, i in enumerate(order[self.config.head:])}
        return inner.model_copy(update={
            "ranker": self.name, "item_ids": order_by(scores, request), "scores": scores,
            "positions": positions,
        })
