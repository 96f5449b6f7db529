"""Validation users scored the way the evaluation scores test users, but fast enough for a sweep.

Each validation user (the ``validation`` split, agent/cases/splits.py) is held out as in the
warm or cold protocol; one score vector over the whole target scene then gives three figures at
once: NDCG@10 among 19 uniform negatives (LLMRank-comparable), among 19 popularity-weighted ones
(harder), and over the full catalogue of items they never touched (what a user sees), plus
recall@20 there. The same seeds and users as ``agent.cases.build_cases``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agent.candidates import SceneData
from agent.candidates.evidence import Query, resolve
from agent.cases import active_users, leave_last_out_cases, position_among, rank_metrics, users_in
from agent.cases.protocols import Case

CANDIDATE_PROTOCOLS = ("uniform", "popular", "full")
Scorer = Callable[[Query], np.ndarray]  # one score per target item


@dataclass(frozen=True)
class ValidationCase:
    query: Query
    held_out: int  # target column
    uniform: np.ndarray  # target columns of the sampled negatives
    popular: np.ndarray
    unseen: np.ndarray  # every target column the user never interacted with (held-out excluded)


def _columns(data: SceneData, case: Case) -> np.ndarray:
    scene = data.scene(case.evidence.target_scene)
    return np.array([scene.item_index[i] for i in case.negatives], dtype=np.int64)


def validation_cases(data: SceneData, source: str, target: str, *, cold: bool, users: int | None = None,
                     seed: int = 0, split: str = "validation") -> list[ValidationCase]:
    pool = users_in(active_users(data, source, target), split)
    size = len(pool) if users is None else users
    uniform = leave_last_out_cases(data, source=source, target=target, users=size, seed=seed, cold=cold, pool=pool)
    popular = leave_last_out_cases(data, source=source, target=target, users=size, seed=seed, cold=cold, pool=pool,
                                   sampling="popular")
    scene = data.scene(target)
    out = []
    for a, b in zip(uniform, popular, strict=True):
        seen = np.array([scene.item_index[e.item_id] for e in data.history(a.user_id, target)], dtype=np.int64)
        unseen = np.setdiff1d(np.arange(scene.n_items), seen)
        out.append(ValidationCase(query=resolve(data, a.evidence), held_out=scene.item_index[a.held_out],
                                  uniform=_columns(data, a), popular=_columns(data, b), unseen=unseen))
    return out


def case_metrics(scores: np.ndarray, case: ValidationCase) -> dict[str, float]:
    true = scores[case.held_out]
    metrics = {f"ndcg@10_{name}": rank_metrics(*position_among(true, scores[getattr(case, name)]))["ndcg@10"]
               for name in ("uniform", "popular")}
    full = rank_metrics(*position_among(true, scores[case.unseen]))
    return metrics | {"ndcg@10_full": full["ndcg@10"], "recall@20_full": full["recall@20"]}


def evaluate(scorer: Scorer, cases: list[ValidationCase]) -> dict[str, float]:
    """Mean figures over the cases, and ``criterion``: the mean NDCG@10 over the three candidate
    protocols (a default must do well under all of them)."""
    rows = [case_metrics(scorer(case.query), case) for case in cases]
    means = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]} if rows else {}
    means["criterion"] = float(np.mean([means[f"ndcg@10_{p}"] for p in CANDIDATE_PROTOCOLS])) if rows else 0.0
    return means
