"""Compare two runs on the users they share: metric deltas with paired bootstrap 95% intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel
from scipy import stats

from core.errors import ScenebridgeError
from evals.rows import read_rows

COMPARED = ("ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "hr@1", "hr@5", "hr@10", "mrr")


def _mean_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(b - a, axis=axis)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of b - a, and the 2.5% and 97.5% percentiles of its bootstrap over users (a user's
    pair is resampled together)."""
    result = stats.bootstrap((a, b), _mean_difference, paired=True, vectorized=True, method="percentile",
                             n_resamples=resamples, confidence_level=0.95, rng=np.random.default_rng(seed))
    interval = result.confidence_interval
    return float(np.mean(b - a)), float(interval.low), float(interval.high)


class MetricDelta(BaseModel):
    a: float
    b: float
    delta: float  # b - a
    ci95: tuple[float, float]
    significant: bool  # the interval excludes 0


class Comparison(BaseModel):
    a: str
    b: str
    shared_users: int
    users_with_other_candidates: int  # shared users shown other candidates (another protocol, say)
    metrics: dict[str, MetricDelta]


def compare_runs(run_a: Path, run_b: Path, *, resamples: int = 2000, seed: int = 0) -> Comparison:
    rows_a = {r.user: r for r in read_rows(run_a)}
    rows_b = {r.user: r for r in read_rows(run_b)}
    shared = sorted(set(rows_a) & set(rows_b))
    if len(shared) < 2:
        raise ScenebridgeError(f"{run_a} and {run_b} share {len(shared)} users", param="runs",
                               hint="compare runs of the same protocol, dataset and seed")
    differing = sum(rows_a[u].candidates != rows_b[u].candidates for u in shared)
    deltas = {}
    for metric in COMPARED:
        a = np.array([rows_a[u].metrics[metric] for u in shared])
        b = np.array([rows_b[u].metrics[metric] for u in shared])
        delta, low, high = paired_bootstrap(a, b, resamples=resamples, seed=seed)
        deltas[metric] = MetricDelta(a=float(a.mean()), b=float(b.mean()), delta=delta, ci95=(low, high),
                                     significant=low > 0 or high < 0)
    return Comparison(a=str(run_a), b=str(run_b), shared_users=len(shared), users_with_other_candidates=differing,
                      metrics=deltas)
