"""Compare two runs on the users they share: metric deltas with paired bootstrap 95% intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import ScenebridgeError
from evals.report import read_rows

COMPARED = ("ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "hr@1", "hr@5", "hr@10", "mrr")


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of b - a, and the 2.5% and 97.5% percentiles of its bootstrap over users."""
    diff = b - a
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def compare_runs(run_a: Path, run_b: Path, *, resamples: int = 2000, seed: int = 0) -> dict:
    rows_a = {r["user"]: r for r in read_rows(run_a)}
    rows_b = {r["user"]: r for r in read_rows(run_b)}
    shared = sorted(set(rows_a) & set(rows_b))
    if len(shared) < 2:
        raise ScenebridgeError(f"{run_a} and {run_b} share {len(shared)} users", param="runs",
                               hint="compare runs of the same protocol, dataset and seed")
    differing = sum(rows_a[u]["candidates"] != rows_b[u]["candidates"] for u in shared)
    result = {"a": str(run_a), "b": str(run_b), "shared_users": len(shared),
              "users_with_other_candidates": differing, "metrics": {}}
    for metric in COMPARED:
        a = np.array([rows_a[u]["metrics"][metric] for u in shared])
        b = np.array([rows_b[u]["metrics"][metric] for u in shared])
        delta, low, high = paired_bootstrap(a, b, resamples=resamples, seed=seed)
        result["metrics"][metric] = {"a": float(a.mean()), "b": float(b.mean()), "delta": delta,
                                     "ci95": [low, high], "significant": low > 0 or high < 0}
    return result
