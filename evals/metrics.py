"""Ranking metrics for one held-out item, and beyond-accuracy measures of recommendation lists.

Every accuracy metric is the expectation over random orders of ties: with ``better`` candidates
scored above the true item and ``tied`` others equal to it, the true item is equally likely at any
position from ``better`` to ``better + tied``. So a ranker without signal scores exactly what
random does, and listing the true item first can never help.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

NDCG_KS = (1, 5, 10, 20)
HR_KS = (1, 5, 10)


def positions(better: int, tied: int) -> np.ndarray:
    return np.arange(better, better + tied + 1)


def rank_metrics(better: int | None, tied: int = 0) -> dict[str, float]:
    """NDCG@{1,5,10,20}, HR@{1,5,10}, MRR, precision/recall@{5,10}; ``better=None`` means the true
    item is not among the candidates (retrieved protocol): every metric is 0."""
    if better is None:
        zero = {f"ndcg@{k}": 0.0 for k in NDCG_KS} | {f"hr@{k}": 0.0 for k in HR_KS}
        return zero | {"mrr": 0.0, "precision@5": 0.0, "precision@10": 0.0, "recall@5": 0.0, "recall@10": 0.0}
    p = positions(better, tied)
    out = {f"ndcg@{k}": float(np.where(p < k, 1.0 / np.log2(p + 2), 0.0).mean()) for k in NDCG_KS}
    out |= {f"hr@{k}": float((p < k).mean()) for k in HR_KS}
    out["mrr"] = float((1.0 / (p + 1)).mean())
    for k in (5, 10):  # one relevant item: recall@k = hit@k, precision@k = hit@k / k
        hit = float((p < k).mean())
        out[f"recall@{k}"], out[f"precision@{k}"] = hit, hit / k
    return out


def true_item_position(scores: dict[str, float], held_out: str) -> tuple[int, int] | None:
    """(better, tied) of the held-out item under ``scores``; None when it is not a candidate."""
    if held_out not in scores:
        return None
    true = scores[held_out]
    others = np.array([v for i, v in scores.items() if i != held_out], dtype=float)
    return int((others > true).sum()), int((others == true).sum())


def expected_at_10(better: int, tied: int) -> tuple[float, float]:
    """NDCG@10 and HR@10 (the generator quality check's pair)."""
    metrics = rank_metrics(better, tied)
    return metrics["ndcg@10"], metrics["hr@10"]


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
    counts = np.bincount(quarters)
    means = np.bincount(quarters, weights=scores)[counts > 0] / counts[counts > 0]
    return float((means.max() - means.min()) / mean)


def position_spread_null(quarters: np.ndarray, scores: np.ndarray, mean: float, *, resamples: int = 1000,
                         seed: int = 0) -> tuple[float, float]:
    """What a ranking with no position effect shows at this many users: the median spread with the
    users' quarters shuffled, and the share of shuffles spread at least as much as observed (a
    permutation p-value). With ~125 users a quarter the noise alone is ~0.15x the mean, so a
    spread target has to be read against this floor."""
    rng = np.random.default_rng(seed)
    observed = position_spread(quarters, scores, mean)
    null = np.array([position_spread(rng.permutation(quarters), scores, mean) for _ in range(resamples)])
    return float(np.median(null)), float((np.sum(null >= observed - 1e-12) + 1) / (resamples + 1))
