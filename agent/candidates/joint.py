"""The joint source+target matrix the collaborative backbones are fitted on.

One row per user of the dataset, the source scene's items then the target scene's items as
columns, 1.0 per interaction (binary: what is predicted is the next target interaction, and
exposure predicts exposure). Because a user's source and target items share a row, a model
fitted on it relates comedies to sci-fi films directly, and a cold user's source items alone
score target items.

``fingerprint`` hashes the scene pair and every cell, so a fit persisted for one version of the
data is never read for another (a re-ingest with other users, a new interaction).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from agent.candidates.evidence import Query
from agent.candidates.scene_data import SceneData, SceneMatrix


@dataclass(eq=False)
class JointMatrix:
    source: SceneMatrix
    target: SceneMatrix
    matrix: sp.csr_matrix  # users x (source items + target items), float32, 1.0 per interaction
    fingerprint: str

    @property
    def n_source(self) -> int:
        return self.source.n_items

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def target_columns(self) -> np.ndarray:
        """The target scene's items as joint columns, in the target scene's column order."""
        return np.arange(self.n_source, self.n_items)

    def item_id(self, column: int) -> str:
        if column < self.n_source:
            return str(self.source.items[column])
        return str(self.target.items[column - self.n_source])

    def row(self, user_row: int) -> np.ndarray:
        """A stored user's joint columns (what a fit on this matrix saw of them)."""
        return self.matrix.indices[self.matrix.indptr[user_row]:self.matrix.indptr[user_row + 1]]

    def evidence(self, query: Query) -> np.ndarray:
        """The query's evidence as joint columns: its source items and its visible target history.
        A held-out target item is not in it, whatever the stored row holds."""
        return np.unique(np.concatenate([query.source_items, query.target_items + self.n_source]))

    def evidence_row(self, query: Query) -> sp.csr_matrix:
        """The evidence as a 1 x items CSR row (what ``implicit`` folds a user in from)."""
        columns = self.evidence(query)
        return sp.csr_matrix((np.ones(len(columns), dtype=np.float32), columns, [0, len(columns)]),
                             shape=(1, self.n_items))


def joint_matrix(data: SceneData, source: str, target: str) -> JointMatrix:
    """The pair's joint matrix, built once per loaded ``SceneData``."""
    source_scene, target_scene = data.scene(source), data.scene(target)

    def build() -> JointMatrix:
        matrix = sp.hstack([source_scene.matrix, target_scene.matrix], format="csr", dtype=np.float32)
        matrix.sort_indices()
        digest = hashlib.sha256()
        for part in (data.dataset, source_scene.scene, target_scene.scene,
                     "\x1f".join(source_scene.items.tolist()), "\x1f".join(target_scene.items.tolist()),
                     "\x1f".join(data.users.tolist())):
            digest.update(part.encode())
            digest.update(b"\x1e")
        digest.update(matrix.indptr.astype(np.int64).tobytes())
        digest.update(matrix.indices.astype(np.int64).tobytes())
        return JointMatrix(source=source_scene, target=target_scene, matrix=matrix,
                           fingerprint=digest.hexdigest()[:16])

    return data.memo(("joint", source_scene.scene, target_scene.scene), build)
