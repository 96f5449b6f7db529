"""``embedding``: cosine between the user's source-scene taste and each target item (MiniLM).

The taste vector is the mean of the liked source items' vectors, liked meaning rated >= 4 or
unrated, and all source items when none is liked: the rule of the store's taste profiles
(``retrievers.ingest.taste_profile``). Content only: no other user's interactions are read, so
there is nothing of the user's own to leave out.

Centring (``center``, on by default): each scene's mean item vector is subtracted first, from the
taste (source mean) and from the target items (target mean), so the cosine compares what sets the
user's comedies apart from comedies in general with what sets a sci-fi film apart from sci-fi in
general. Raw MiniLM vectors share a large common direction, and the raw cosine mostly rewards
target items whose text is short (no overview: the obscure ones): on ML-1M Comedy -> Sci-Fi it
ranked below random (NDCG@10 0.192, random 0.227), centred 0.364 (docs/candidates.md).

``target_weight`` > 0 blends the (centred) mean of the user's target history into the taste
vector: content-based kNN in the target scene for a warm user (0.5: NDCG@10 0.443 warm on ML-1M).
It is 0 by default so that this generator stays the purely cross-scene signal.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.evidence import Query
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData
from core.domain import LIKED_RATING


class EmbeddingConfig(GeneratorConfig):
    min_rating: float | None = Field(
        default=LIKED_RATING, description="Source items that shape the taste vector: rated at least "
        "this, or unrated; None: all.")
    center: bool = Field(default=True, description="Subtract each scene's mean item vector first.")
    target_weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Weight of the user's target history in the taste "
        "vector (0: source scene only; ignored for a cold user).")


@register_generator
class Embedding(CandidateGenerator):
    name = "embedding"
    Config = EmbeddingConfig
    config: EmbeddingConfig

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        source, target = query.source, query.target
        if self.config.center:
            source_mean, _ = data.memo(("centred", source.scene), lambda: _centred(source.vectors))
            target_mean, items = data.memo(("centred", target.scene), lambda: _centred(target.vectors))
        else:
            source_mean = target_mean = 0.0
            items = data.memo(("unit", target.scene), lambda: _unit(target.vectors.astype(np.float64)))
        liked = query.liked_source(self.config.min_rating)
        taste = _unit(_mean(source.vectors, liked) - source_mean) if len(liked) else np.zeros(items.shape[1])
        weight = self.config.target_weight
        if weight > 0 and len(query.target_items):
            history = _unit(_mean(target.vectors, query.target_items) - target_mean)
            taste = _unit((1.0 - weight) * taste + weight * history)
        return items @ taste


def _mean(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return vectors[rows].astype(np.float64).mean(axis=0)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _centred(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scene's mean vector, and its items centred on it and scaled to unit length."""
    vectors = vectors.astype(np.float64)
    mean = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
    return mean, _unit(vectors - mean)
