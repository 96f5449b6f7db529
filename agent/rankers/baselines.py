"""Baselines behind the ranker contract: rank by one candidate generator's score, or at random.

They let the evaluation compare every method on the same users, candidates and metrics.
"""

from __future__ import annotations

import hashlib

import numpy as np

from agent.rankers.base import Ranking, RankingRequest, order_by
from core.errors import ScenebridgeError

# Score ranker name -> candidate generator whose score it ranks by: the collaborative backbones
# (``backbone`` is the model validation chose) and the heuristic baselines.
SCORE_BASELINES = {"backbone": "backbone", "ease": "ease", "ials": "ials", "popularity": "popularity",
                   "itemknn": "itemknn", "embedding": "embedding", "cross_cooc": "cross_cooc"}


class ScoreRanker:
    """Rank by one generator's (normalised) score."""

    def __init__(self, name: str):
        self.name = name
        self.generator = SCORE_BASELINES[name]

    async def rank(self, request: RankingRequest) -> Ranking:
        if self.generator not in request.generator_scores:
            raise ScenebridgeError(f"the candidates carry no {self.generator!r} score", param="ranker",
                                   hint="score candidates with that generator")
        scores = dict(request.generator_scores[self.generator])
        return Ranking(ranker=self.name, item_ids=order_by(scores, request), scores=scores)


class RandomRanker:
    """A seeded random order per user (the floor every method must clear)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    async def rank(self, request: RankingRequest) -> Ranking:
        key = f"{self.seed}:{request.user_id}".encode()
        rng = np.random.default_rng(int(hashlib.sha256(key).hexdigest()[:8], 16))
        scores = dict(zip(request.ids, rng.random(len(request.ids)).tolist(), strict=True))
        return Ranking(ranker=self.name, item_ids=sorted(request.ids, key=lambda i: -scores[i]), scores=scores)
