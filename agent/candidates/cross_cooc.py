"""``cross_cooc``: target items liked by the users who like the same source-scene items.

The collaborative bridge between scenes, and the signal a cold user has: the score of a target
item j is the sum over the user's liked source items i of cos(i, j), where the cosine compares
item i's column of source likes with item j's column of target likes over the *bridge users*
(users with at least one like in each scene; nobody else can co-occur, so nobody else enters the
norms either).

A like is an interaction rated >= 4 (``min_rating``) or without a rating; a user who liked none
of their source items is represented by all of them (the store's taste-profile rule). On ML-1M
Comedy -> Sci-Fi, likes on the source side and every interaction on the target side ranked
best (see docs/candidates.md); both thresholds are configurable.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agent.candidates._cooc import cosine_cooc
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.evidence import Query
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import LIKED_RATING, SceneData


class CrossCoocConfig(GeneratorConfig):
    min_rating: float | None = Field(
        default=LIKED_RATING, description="Source-scene interactions that count as likes (for "
        "everyone, the user included): rated at least this, or unrated; None: all.")
    target_min_rating: float | None = Field(
        default=None, description="Target-scene interactions that count: rated at least this, "
        "or unrated; None: all.")


@register_generator
class CrossCooc(CandidateGenerator):
    name = "cross_cooc"
    Config = CrossCoocConfig
    config: CrossCoocConfig

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        source = query.source.interactions(self.config.min_rating)
        target = query.target.interactions(self.config.target_min_rating)
        key = ("bridge", query.source.scene, self.config.min_rating, query.target.scene,
               self.config.target_min_rating)
        bridge, source_counts, target_counts = data.memo(key, lambda: _bridge(source, target))
        return cosine_cooc(source, target, query.liked_source(self.config.min_rating),
                           seed_counts=source_counts, target_counts=target_counts, users=bridge,
                           leave_out=query.user_row)


def _bridge(source, target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users active in both scenes, and each item's count over those users only."""
    users = (np.diff(source.indptr) > 0) & (np.diff(target.indptr) > 0)
    weights = users.astype(np.float64)
    return users, source.T @ weights, target.T @ weights
