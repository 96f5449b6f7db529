"""Measures of a whole evaluation run: beyond-accuracy measures of recommendation lists, and the
spread of accuracy over the true item's listed position (one case's accuracy is
agent/cases/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
from scipy import stats


def catalogue_coverage(lists: Iterable[Sequence[str]], catalogue_size: int) -> float:
    """Share of the scene's items that appear in at least one list."""
    seen = {item for items in lists for item in items}
    return len(seen) / catalogue_size if catalogue_size else 0.0


def novelty(lists: Iterable[Sequence[str]], popularity: dict[str, int], users: int) -> float:
    """Mean self-information -log2(p(item)) of recommended items, p = share of users who had it."""
    values = [-np.log2(max(popularity.get(item, 0), 1) / users) for items in lists for item in items]
    return float(np.mean(values)) if values else 0.0


def intra_list_diversity(lists: Iterable[Sequence[str]], vectors: dict[str, np.ndarray]) -> float:
    """Mean pairwise cosine distance (1 - cos) of the items within each list, averaged over lists."""
    per_list = []
    for items in lists:
        rows = [vectors[i] for i in items if i in vectors]
        if len(rows) < 2:
            continue
        matrix = np.asarray(rows, dtype=float)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
        similarity = matrix @ matrix.T
        n = len(rows)
        per_list.append(float(1.0 - (similarity.sum() - n) / (n * (n - 1))))
    return float(np.mean(per_list)) if per_list else 0.0


def position_spread(quarters: np.ndarray, scores: np.ndarray, mean: float) -> float:
    """(best - worst quarter's mean score) / ``mean``; ``quarters[u]`` is where user u's true item
    was listed (0-3), ``scores[u]`` its NDCG@10."""
    return float(_spreads(np.asarray(quarters), scores=np.asarray(scores, dtype=np.float64), mean=mean))


def _spreads(quarters: np.ndarray, *, scores: np.ndarray, mean: float, axis: int = -1) -> np.ndarray:
    """``position_spread`` of each row of ``quarters`` (one labelling of the users per row)."""
    labels = np.atleast_2d(quarters)
    rows, n_quarters = len(labels), int(labels.max()) + 1
    # One bincount over (row, quarter) bins sums each bin in user order.
    bins = (labels + n_quarters * np.arange(rows)[:, None]).ravel()
    sums = np.bincount(bins, weights=np.tile(scores, rows), minlength=rows * n_quarters).reshape(rows, -1)
    counts = np.bincount(bins, minlength=rows * n_quarters).reshape(rows, -1)
    present = counts[0] > 0  # a permutation keeps every quarter's size
    means = sums[:, present] / counts[:, present]
    spreads = (means.max(axis=1) - means.min(axis=1)) / mean
    return spreads if np.ndim(quarters) > 1 else spreads[0]


def position_spread_null(quarters: np.ndarray, scores: np.ndarray, mean: float, *, resamples: int = 1000,
                         seed: int = 0) -> tuple[float, float]:
    """What a ranking with no position effect shows at this many users: the median spread with the
    users' quarters shuffled, and the share of shuffles spread at least as much as observed (a
    permutation p-value, counting the observed order). With ~125 users a quarter the noise alone
    is ~0.15x the mean, so a spread target has to be read against this floor."""
    quarters = np.asarray(quarters, dtype=np.int64)
    if len(np.unique(quarters)) < 2:  # one quarter: no spread, whatever the order
        return 0.0, 1.0
    # The users' quarter labels are one sample whose order is shuffled against the fixed scores
    # ("pairings"); "independent" over per-quarter samples is the same test but refuses a quarter
    # of one user, which a small run has. Up to 6 users every order is enumerated (exact p).
    result = stats.permutation_test((quarters,), partial(_spreads, scores=np.asarray(scores, dtype=np.float64),
                                                         mean=mean),
                                    permutation_type="pairings", vectorized=True, n_resamples=resamples,
                                    batch=250, alternative="greater", rng=np.random.default_rng(seed))
    return float(np.median(result.null_distribution)), float(result.pvalue)
