"""``itemknn``: target items that co-occur with the user's target-scene history.

Item-based kNN over the target scene without a neighbourhood cut: the score of a candidate j is
the sum over the user's target items i of cos(i, j), the cosine of the two items' user columns
(``_cooc``). A cold user (no target history) gets zero everywhere.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agent.candidates._cooc import cosine_cooc
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.evidence import Query
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData


class ItemKNNConfig(GeneratorConfig):
    min_rating: float | None = Field(
        default=None, description="Interactions that count as co-occurrence: rated at least this "
        "(unrated ones always count); None counts every interaction.")


@register_generator
class ItemKNN(CandidateGenerator):
    name = "itemknn"
    Config = ItemKNNConfig
    config: ItemKNNConfig

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        target, min_rating = query.target, self.config.min_rating
        matrix = target.interactions(min_rating)
        counts = data.memo(("counts", target.scene, min_rating), lambda: target.counts(min_rating))
        return cosine_cooc(matrix, matrix, query.target_items, seed_counts=counts, target_counts=counts,
                           leave_out=query.user_row)
