"""The collaborative evidence for each candidate, as facts a prompt can state in words.

For the backbone's best candidates: their rank by the backbone, how many of the ``neighbours``
people most like this user (user-kNN over the joint source+target matrix: shared evidence items,
cosine on binary rows) have the candidate, and which of the user's own items contribute most to
its backbone score (the backbone's attributions). A known user's own row is never a neighbour and
never counted, so a held-out item cannot reach its own evidence; the backbone's scores leave the
user out by construction (EASE leave-user-out, cross-fitted iALS).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from agent.candidates.evidence import Query, UserEvidence, resolve
from agent.candidates.joint import joint_matrix
from agent.candidates.registry import make_generator
from agent.candidates.scene_data import SceneData

NEIGHBOURS = 100


class CandidateSupport(BaseModel):
    item_id: str
    rank: int = Field(description="1-based rank among the candidates by the backbone's score.")
    neighbours: int = Field(description="How many of the most similar people were looked at.")
    neighbours_with: int = Field(description="How many of them have this item.")
    because: list[str] = Field(default_factory=list, description="The user's items contributing most "
                               "to the backbone's score of it, largest first.")


def nearest_neighbours(data: SceneData, query: Query, k: int = NEIGHBOURS) -> np.ndarray:
    """Rows of the ``k`` users whose joint rows are closest (cosine, binary) to the evidence; never
    the user's own row; only users sharing at least one evidence item."""
    joint = joint_matrix(data, query.source.scene, query.target.scene)
    columns = joint.evidence(query)
    if not len(columns):
        return np.empty(0, dtype=np.int64)
    shared = np.asarray(joint.matrix[:, columns].sum(axis=1)).ravel()
    lengths = np.diff(joint.matrix.indptr).astype(np.float64)
    similarity = shared / np.sqrt(np.maximum(lengths, 1.0))
    if query.user_row is not None:
        similarity[query.user_row] = 0.0
    eligible = np.flatnonzero(similarity > 0)
    if len(eligible) > k:
        eligible = eligible[np.argpartition(-similarity[eligible], k - 1)[:k]]
    return eligible[np.argsort(-similarity[eligible], kind="stable")]


def candidate_support(data: SceneData, evidence: UserEvidence, ranked_ids: list[str], *,
                      neighbours: int = NEIGHBOURS, because: int = 2) -> dict[str, CandidateSupport]:
    """The support of each of ``ranked_ids`` (given best first by the backbone)."""
    query = resolve(data, evidence)
    rows = nearest_neighbours(data, query, neighbours)
    target = query.target
    columns = np.array([data.column(target, i) for i in ranked_ids], dtype=np.int64)
    with_item = (np.asarray(target.matrix[rows][:, columns].sum(axis=0)).ravel().astype(int)
                 if len(rows) else np.zeros(len(columns), dtype=int))
    attributions = make_generator("backbone").attribute(data, query, list(ranked_ids), top=because)
    return {item_id: CandidateSupport(item_id=item_id, rank=n + 1, neighbours=len(rows),
                                      neighbours_with=int(with_item[n]),
                                      because=[c.item_id for c in attributions[item_id].contributions])
            for n, item_id in enumerate(ranked_ids)}
