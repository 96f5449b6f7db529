"""``ials``: implicit ALS (Hu, Koren & Volinsky 2008) from the ``implicit`` library, on the same
joint source+target matrix as ``ease``; a user is folded in from their evidence
(``recalculate_user``: the least-squares user factor for fixed item factors), so a cold user's
source items place them among the target items.

Item factors learn from every row they are fitted on, so a fit that saw a user's held-out cell
would leak it. Cross-fitting makes that impossible by construction: users are hashed into
``folds`` groups, fold k's model is fitted without fold k's rows, and a known user is always
folded into the model of their own fold, which never saw any of their interactions. A person
outside the data (liked titles only) is folded into the model fitted on everyone. So one
persisted fit (``folds + 1`` models) serves evaluation, tuning examples and requests alike.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from agent.candidates._fits import cached_fit
from agent.candidates.attribution import Attributing
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.choice import chosen_config
from agent.candidates.evidence import Query
from agent.candidates.joint import JointMatrix, joint_matrix
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData

DEFAULTS = {"factors": 64, "regularization": 1.0, "alpha": 4.0, "iterations": 15}


class IalsConfig(GeneratorConfig):
    factors: int | None = Field(default=None, ge=2, le=1024, description="Latent factors.")
    regularization: float | None = Field(default=None, ge=0, description="L2 weight on the factors.")
    alpha: float | None = Field(default=None, gt=0, description="Confidence of an interaction "
                                "(implicit's alpha: an observed cell weighs alpha, a missing one 1).")
    iterations: int | None = Field(default=None, ge=1, le=100)
    folds: int = Field(default=10, ge=2, le=50, description="Cross-fitting groups: a known user is "
                       "scored by the model fitted without their group.")
    seed: int = 0
    # Any field left None takes the value validation chose for this scene pair (warm or cold),
    # else DEFAULTS.


def fold_of(user_ids: np.ndarray, folds: int) -> np.ndarray:
    """Each user's cross-fitting group: a hash of the id alone (the same in every process)."""
    return np.array([int(hashlib.sha256(f"scenebridge-fold:{u}".encode()).hexdigest()[:8], 16) % folds
                     for u in user_ids], dtype=np.int64)


def als_model(item_factors: np.ndarray | None, params: dict):
    """An ``implicit`` model holding ``item_factors`` (for fold-in and explain; None: to be fitted)."""
    with warnings.catch_warnings():
        # implicit warns that OpenBLAS may use threads; it limits them itself where it matters.
        warnings.simplefilter("ignore", RuntimeWarning)
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(factors=int(params["factors"]), regularization=float(params["regularization"]),
                                        alpha=float(params["alpha"]), iterations=int(params["iterations"]),
                                        random_state=int(params.get("seed", 0)))
    if item_factors is not None:
        model.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    return model


def fit_ials(matrix: sp.csr_matrix, params: dict, excluded: np.ndarray | None = None) -> np.ndarray:
    """Item factors fitted on ``matrix`` without the rows flagged in ``excluded``."""
    if excluded is not None and excluded.any():
        keep = sp.diags((~excluded).astype(np.float32))
        matrix = (keep @ matrix).tocsr()
        matrix.eliminate_zeros()
    model = als_model(None, params)
    model.fit(matrix, show_progress=False)
    return np.asarray(model.item_factors, dtype=np.float32)


@register_generator
class Ials(Attributing, CandidateGenerator):
    name = "ials"
    Config = IalsConfig
    config: IalsConfig

    def params(self, data: SceneData, joint: JointMatrix, query: Query) -> dict:
        chosen = chosen_config(data, joint, "ials", query.evidence.cold)
        given = self.config.model_dump(exclude_none=True)
        return {**DEFAULTS, **{k: v for k, v in chosen.items() if k in DEFAULTS}, **given}

    def _model(self, data: SceneData, query: Query):
        joint = joint_matrix(data, query.source.scene, query.target.scene)
        params = self.params(data, joint, query)
        key = ",".join(f"{k}={params[k]:g}" for k in (*DEFAULTS, "folds", "seed"))

        def fit() -> dict[str, np.ndarray]:
            folds = fold_of(data.users, params["folds"])
            models = [fit_ials(joint.matrix, params, folds == k) for k in range(params["folds"])]
            models.append(fit_ials(joint.matrix, params))  # everyone: for people outside the data
            return {"item_factors": np.stack(models), "folds": folds}

        arrays = cached_fit(data, joint, f"ials-{key}", fit)
        which = int(arrays["folds"][query.user_row]) if query.user_row is not None else -1
        # One model object per fold, kept: it caches Y^T Y, which a fold-in would otherwise redo.
        model = data.memo(("ials-model", joint.fingerprint, key, which),
                          lambda: als_model(arrays["item_factors"][which], params))
        return joint, model

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        joint, model = self._model(data, query)
        evidence = joint.evidence_row(query)
        if evidence.nnz == 0:
            return np.zeros(query.target.n_items)
        factor = model.recalculate_user(0, evidence)
        return (model.item_factors[joint.n_source:] @ factor).astype(np.float64)

    def contributions(self, data: SceneData, query: Query, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
        joint, model = self._model(data, query)
        evidence = joint.evidence_row(query)
        names = [joint.item_id(c) for c in evidence.indices]
        parts = np.zeros((len(names), len(item_ids)))
        if not names:
            return parts, names
        position = {c: i for i, c in enumerate(evidence.indices)}
        weights = None  # the user's factorised weights: explain computes them once, then reuses them
        for n, item_id in enumerate(item_ids):
            column = joint.n_source + data.column(query.target, item_id)
            _, top, weights = model.explain(0, evidence, column, user_weights=weights, N=len(names))
            for other, value in top:
                parts[position[other], n] = value
        return parts, names
