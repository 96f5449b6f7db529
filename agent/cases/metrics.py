"""Accuracy of one held-out case: where the true item lands among the candidates.

Every metric is the expectation over random orders of ties: with ``better`` candidates scored
above the true item and ``tied`` others equal to it, the true item is equally likely at any
position from ``better`` to ``better + tied``. So a ranker without signal scores exactly what
random does, and listing the true item first can never help. Fitting (fusion weights, tuning)
and evaluation read the same figures.
"""

from __future__ import annotations

import numpy as np

NDCG_KS = (1, 5, 10, 20)
HR_KS = (1, 5, 10, 20)
RECALL_KS = (5, 10, 20)


def positions(better: int, tied: int) -> np.ndarray:
    return np.arange(better, better + tied + 1)


def rank_metrics(better: int | None, tied: int = 0) -> dict[str, float]:
    """NDCG@{1,5,10,20}, HR@{1,5,10,20}, MRR, precision@{5,10}, recall@{5,10,20}; ``better=None``
    means the true item is not among the candidates (retrieved protocol): every metric is 0."""
    if better is None:
        zero = {f"ndcg@{k}": 0.0 for k in NDCG_KS} | {f"hr@{k}": 0.0 for k in HR_KS}
        return zero | {"mrr": 0.0, "precision@5": 0.0, "precision@10": 0.0} | {f"recall@{k}": 0.0 for k in RECALL_KS}
    p = positions(better, tied)
    out = {f"ndcg@{k}": float(np.where(p < k, 1.0 / np.log2(p + 2), 0.0).mean()) for k in NDCG_KS}
    out |= {f"hr@{k}": float((p < k).mean()) for k in HR_KS}
    out["mrr"] = float((1.0 / (p + 1)).mean())
    for k in (5, 10):  # one relevant item: recall@k = hit@k, precision@k = hit@k / k
        out[f"precision@{k}"] = float((p < k).mean()) / k
    for k in RECALL_KS:
        out[f"recall@{k}"] = float((p < k).mean())
    return out


def position_among(true: float, others: np.ndarray) -> tuple[int, int]:
    """(better, tied): how many of ``others`` score above the true item's ``true``, and equal to it."""
    return int((others > true).sum()), int((others == true).sum())


def true_item_position(scores: dict[str, float], held_out: str) -> tuple[int, int] | None:
    """(better, tied) of the held-out item under ``scores``; None when it is not a candidate."""
    if held_out not in scores:
        return None
    return position_among(scores[held_out], np.array([v for i, v in scores.items() if i != held_out], dtype=float))


def expected_at_10(better: int, tied: int) -> tuple[float, float]:
    """NDCG@10 and HR@10 (the generator quality check's pair)."""
    metrics = rank_metrics(better, tied)
    return metrics["ndcg@10"], metrics["hr@10"]
