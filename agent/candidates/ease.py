"""``ease``: EASE (Steck 2019) on the joint source+target matrix, closed form.

B = I - P diag(1/diag(P)), P = (X^T X + l2 I)^-1 over the joint matrix X, so a target item's
score for evidence x is sum_i x_i B_ij: a cold user's comedies score sci-fi films directly.

A known user is scored by the fit *without their own row*, exactly and cheaply: removing a row r
from X^T X is a rank-one downdate, P' = P + u u^T / (1 - r^T u) with u = P r (Sherman-Morrison),
and only P' at the evidence rows and target columns is ever formed (O(|x| |T|)). So a held-out
cell (warm) or a hidden target row (cold) can never reach the score that ranks it, with one fit
kept for everyone: the same leave-the-user-out rule as the other generators.

Cost: the fit is one dense inverse, O(items^3) time and items^2 memory over the pair's items
(ML-1M Comedy + Sci-Fi: ~1.4k items, 16 MB, well under a second). It stays fine to ~15k items
(1.8 GB in float64, minutes to invert on 2 cores); past that the ``ials`` backbone (memory linear
in items) takes over, or EASE on the most popular items only.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from agent.candidates._fits import cached_fit
from agent.candidates.attribution import Attributing
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.choice import chosen_config
from agent.candidates.evidence import Query
from agent.candidates.joint import JointMatrix, joint_matrix
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData

# Before any validation fit: the reference's best lambdas on the sampled protocols (DESIGN.md).
DEFAULT_L2 = {"warm": 500.0, "cold": 4000.0}


class EaseConfig(GeneratorConfig):
    l2: float | None = Field(default=None, gt=0, description="The L2 weight lambda; None: the one "
                             "validation chose for this scene pair and kind of user (warm or cold).")


def fit_ease(joint: JointMatrix, l2: float) -> np.ndarray:
    """P = (X^T X + l2 I)^-1 over the joint matrix (float64: the downdate divides by 1 - r^T P r)."""
    gram = (joint.matrix.T @ joint.matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    return np.linalg.inv(gram)


def ease_parts(P: np.ndarray, evidence: np.ndarray, columns: np.ndarray,
               left_out: np.ndarray | None = None) -> np.ndarray:
    """x_i B'_ij for evidence rows i and ``columns`` j, B' the EASE weights of the fit without the
    row ``left_out`` (its columns). Summed over i: the scores."""
    block = P[np.ix_(evidence, columns)]
    diagonal = P[columns, columns]
    if left_out is not None and len(left_out):
        u_evidence = P[np.ix_(evidence, left_out)].sum(axis=1)
        u_columns = P[np.ix_(columns, left_out)].sum(axis=1)
        c = 1.0 - P[np.ix_(left_out, left_out)].sum()
        block = block + np.outer(u_evidence, u_columns) / c
        diagonal = diagonal + u_columns**2 / c
    parts = -block / diagonal
    parts[evidence[:, None] == columns[None, :]] = 0.0  # B_jj = 0: an item never scores itself
    return parts


@register_generator
class Ease(Attributing, CandidateGenerator):
    name = "ease"
    Config = EaseConfig
    config: EaseConfig

    def l2(self, data: SceneData, joint: JointMatrix, query: Query) -> float:
        if self.config.l2 is not None:
            return self.config.l2
        chosen = chosen_config(data, joint, "ease", query.evidence.cold).get("l2")
        return float(chosen or DEFAULT_L2["cold" if query.evidence.cold else "warm"])

    def _parts(self, data: SceneData, query: Query,
               columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, JointMatrix]:
        """x_i B'_ij for the evidence columns i and target ``columns`` j, those evidence columns, and
        the joint matrix they index."""
        joint = joint_matrix(data, query.source.scene, query.target.scene)
        l2 = self.l2(data, joint, query)
        P = cached_fit(data, joint, f"ease-l2={l2:g}", lambda: {"P": fit_ease(joint, l2)})["P"]
        evidence = joint.evidence(query)
        left_out = joint.row(query.user_row) if query.user_row is not None else None
        return ease_parts(P, evidence, columns + joint.n_source, left_out), evidence, joint

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        parts, _, _ = self._parts(data, query, np.arange(query.target.n_items))
        return parts.sum(axis=0)

    def contributions(self, data: SceneData, query: Query, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
        columns = np.array([data.column(query.target, i) for i in item_ids], dtype=np.int64)
        parts, evidence, joint = self._parts(data, query, columns)
        return parts, [joint.item_id(c) for c in evidence]
