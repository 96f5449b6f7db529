"""``popularity``: how many users interacted with each target item (the user left out)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.evidence import Query
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData


class PopularityConfig(GeneratorConfig):
    min_rating: float | None = Field(
        default=None, description="Count only interactions rated at least this (unrated ones "
        "always count); None counts every interaction.")


@register_generator
class Popularity(CandidateGenerator):
    name = "popularity"
    Config = PopularityConfig
    config: PopularityConfig

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        target, min_rating = query.target, self.config.min_rating
        counts = data.memo(("counts", target.scene, min_rating), lambda: target.counts(min_rating))
        counts = counts.astype(np.float64)  # a copy: the memo is shared
        if query.user_row is not None:
            matrix = target.interactions(min_rating)
            start, end = matrix.indptr[query.user_row], matrix.indptr[query.user_row + 1]
            counts[matrix.indices[start:end]] -= matrix.data[start:end]
        return counts
