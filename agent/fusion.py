"""Fusion of ranking signals: the LLM's scores and the candidate generators' scores.

Generator scores arrive z-normalised over the user's whole eligible target scene
(``CandidateSet.normalized``); the LLM's scores exist only for the candidates, so they are
z-normalised over the candidate list. The components are then weighted and summed. Weights are
fitted on validation users (never on the users an evaluation reports) by a coordinate grid
search on NDCG@10, and saved as JSON so a run records exactly what it used.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from agent.cases import expected_at_10, true_item_position

LLM = "llm"
# Before any fit: the backbone (the collaborative model validation chose) ranks, and the untuned
# LLM gets a small say. DESIGN.md measured gemma-3-270m at chance zero-shot, so a fit is expected
# to lower its weight further. These weights also make the prior: the candidates' order and the
# fallback when the model server fails.
DEFAULT_WEIGHTS = {"backbone": 1.0, LLM: 0.25}


class FusionWeights(BaseModel):
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    fitted: bool = False
    fitted_on: dict = Field(default_factory=dict, description="Users, protocol, seed, NDCG@10 reached.")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path | None) -> FusionWeights:
        if path is None or not path.is_file():
            return cls()
        return cls.model_validate(json.loads(path.read_text()))


def zscore(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def fuse(components: dict[str, dict[str, float]], ids: list[str], weights: dict[str, float]) -> dict[str, float]:
    total = np.zeros(len(ids))
    for name, scores in components.items():
        weight = weights.get(name, 0.0)
        if weight:
            values = np.array([scores.get(i, 0.0) for i in ids], dtype=float)
            total += weight * (zscore(values) if name == LLM else values)
    return dict(zip(ids, total.tolist(), strict=True))


class FitExample(BaseModel):
    user: str | None = None  # whose case: cross-validation keeps a user's cases together
    ids: list[str]
    held_out: str
    components: dict[str, dict[str, float]]


def mean_ndcg(examples: list[FitExample], weights: dict[str, float]) -> float:
    """Mean NDCG@10 of the held-out items; ties count at their expectation over random orders, so
    the candidates' listed order can never help."""
    scores = []
    for example in examples:
        fused = fuse(example.components, example.ids, weights)
        scores.append(expected_at_10(*true_item_position(fused, example.held_out))[0])
    return float(np.mean(scores)) if scores else 0.0


def fit_weights(examples: list[FitExample], *, grid=(0.0, 0.25, 0.5, 1.0, 2.0), rounds: int = 3,
                start: dict[str, float] | None = None) -> tuple[dict[str, float], float]:
    """Coordinate ascent over a grid of weights (ties go to the smaller weight), started from the
    default weights and from each component alone (one weight at a time cannot always walk from
    a mix to a single component); returns the best weights and their mean NDCG@10."""
    names = sorted({n for e in examples for n in e.components})
    starts = [{n: (start or DEFAULT_WEIGHTS).get(n, 0.0) for n in names}]
    starts += [{n: float(n == only) for n in names} for only in names]
    fits = [_ascend(examples, names, weights, grid, rounds) for weights in starts]
    return max(fits, key=lambda fit: fit[1])


def _ascend(examples, names, weights, grid, rounds) -> tuple[dict[str, float], float]:
    best = mean_ndcg(examples, weights)
    for _, name in itertools.product(range(rounds), names):
        for value in grid:
            trial = {**weights, name: value}
            if not any(trial.values()):
                continue
            score = mean_ndcg(examples, trial)
            # On a tie the smaller weight wins: a component that changes nothing ends at 0.
            if score > best + 1e-9 or (score >= best - 1e-9 and value < weights[name]):
                best, weights = max(score, best), trial
    return weights, best
