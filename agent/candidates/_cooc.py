"""Cosine-normalised item co-occurrence, scored without ever forming the item x item matrix.

For seed items S (columns of ``seed``) and a candidate j (column of ``target``), both binary
users x items matrices over the same users,

    score(j) = sum_{i in S} C_ij / sqrt(n_i * n_j),   C = seed^T target,  n = column counts,

which is two sparse matrix-vector products: a = seed @ w with w_i = 1 / sqrt(n_i) on S, then
target^T a / sqrt(n_j). Leaving a user out is exact and cheap: their weight a_u is zeroed (their
row adds nothing to C) and their row is subtracted from the counts n.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _row(matrix: sp.csr_matrix, row: int) -> tuple[np.ndarray, np.ndarray]:
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def cosine_cooc(seed: sp.csr_matrix, target: sp.csr_matrix, seed_items: np.ndarray, *,
                seed_counts: np.ndarray, target_counts: np.ndarray, users: np.ndarray | None = None,
                leave_out: int | None = None) -> np.ndarray:
    """Scores of every target column. ``users`` (bool per row) restricts the users who count;
    the counts must be over the same users. ``leave_out`` is a row whose interactions are
    removed from everything."""
    if len(seed_items) == 0:
        return np.zeros(target.shape[1], dtype=np.float64)
    seed_counts = seed_counts.astype(np.float64)
    target_counts = target_counts.astype(np.float64)
    if leave_out is not None and (users is None or users[leave_out]):
        columns, values = _row(seed, leave_out)
        seed_counts[columns] -= values
        columns, values = _row(target, leave_out)
        target_counts[columns] -= values
    weights = np.zeros(seed.shape[1], dtype=np.float64)
    chosen = np.unique(seed_items)
    counted = seed_counts[chosen] > 0
    weights[chosen[counted]] = 1.0 / np.sqrt(seed_counts[chosen[counted]])
    per_user = seed @ weights
    if users is not None:
        per_user[~users] = 0.0
    if leave_out is not None:
        per_user[leave_out] = 0.0
    raw = target.T @ per_user
    return np.divide(raw, np.sqrt(target_counts), out=np.zeros_like(raw), where=target_counts > 0)
