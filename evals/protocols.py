"""The offline quality check of the generators (LensKit-style): leave-last-out on sampled users.

For each sampled user active in both scenes, the held-out item is their last target item by
timestamp and the history the earlier ones (``cold``: no target history at all); the held-out
item is ranked among ``negatives`` seeded random target items the user never interacted with, by
each generator alone and by the default fusion. The user's id is passed, so every count leaves
their own interactions out. Ties are scored by their expectation under a random order, so a
generator without signal scores exactly what random does (NDCG@10 ~0.227 with 20 candidates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent.candidates.evidence import RatedItem, UserEvidence
from agent.candidates.generate import DEFAULT_GENERATORS, GeneratorSpec, score_candidates
from agent.candidates.scene_data import SceneData
from scenebridge.errors import ScenebridgeError

FUSED = "fused"
RANDOM = "random"


@dataclass
class Metrics:
    ndcg10: float
    hr10: float


@dataclass
class QualityReport:
    users: int
    candidates: int
    cold: bool
    metrics: dict[str, Metrics] = field(default_factory=dict)

    def table(self) -> str:
        lines = ["| generator | NDCG@10 | HR@10 |", "|---|---:|---:|"]
        lines += [f"| {name} | {m.ndcg10:.3f} | {m.hr10:.3f} |" for name, m in self.metrics.items()]
        return "\n".join(lines)


def expected_at_10(better: int, tied: int) -> tuple[float, float]:
    """NDCG@10 and HR@10 of the true item with ``better`` candidates above it and ``tied`` others
    equal to it, averaged over the random orders of the ties."""
    positions = np.arange(better, better + tied + 1)
    inside = positions < 10
    return float(np.where(inside, 1.0 / np.log2(positions + 2), 0.0).mean()), float(inside.mean())


def active_users(data: SceneData, source: str, target: str, minimum: int = 5) -> list[str]:
    """Users with at least ``minimum`` items in both scenes, sorted by id."""
    counts = [np.diff(data.scene(s).matrix.indptr) for s in (source, target)]
    rows = np.flatnonzero((counts[0] >= minimum) & (counts[1] >= minimum))
    return sorted(str(data.users[r]) for r in rows)


@dataclass(frozen=True)
class Case:
    """One evaluated user: their evidence, the held-out item, and the sampled negatives."""

    evidence: UserEvidence
    held_out: str
    negatives: tuple[str, ...]

    @property
    def candidates(self) -> list[str]:
        return [self.held_out, *self.negatives]


def leave_last_out_cases(data: SceneData, *, source: str, target: str, users: int = 200,
                         negatives: int = 19, seed: int = 0, cold: bool = False,
                         minimum: int = 5, pool: Sequence[str] | None = None) -> list[Case]:
    """The seeded users and candidates of the protocol (the same for warm and cold). ``pool``
    restricts the users drawn from (e.g. one split of evals/splits.py); default: every user
    active in both scenes."""
    rng = np.random.default_rng(seed)
    pool = sorted(pool) if pool is not None else active_users(data, source, target, minimum)
    chosen = sorted(rng.choice(pool, size=min(users, len(pool)), replace=False).tolist())
    scene = data.scene(target)
    cases = []
    for user in chosen:
        history = data.history(user, target)
        seen = np.array([scene.item_index[e.item_id] for e in history], dtype=np.int64)
        unseen = np.setdiff1d(np.arange(scene.n_items), seen)
        sampled = tuple(str(scene.items[c]) for c in rng.choice(unseen, size=negatives, replace=False))
        evidence = UserEvidence(
            user_id=user, source_scene=source, target_scene=target,
            source_items=tuple(RatedItem(item_id=e.item_id, rating=e.rating)
                               for e in data.history(user, source)),
            target_history=() if cold else tuple(e.item_id for e in history[:-1]),
        )
        cases.append(Case(evidence=evidence, held_out=history[-1].item_id, negatives=sampled))
    return cases


def metrics_of(scores: np.ndarray) -> tuple[float, float]:
    """NDCG@10 and HR@10 of candidate 0 (the held-out item) under ``scores``."""
    true = scores[0]
    return expected_at_10(int((scores[1:] > true).sum()), int((scores[1:] == true).sum()))


def summarize(per: dict[str, list[tuple[float, float]]], *, users: int, candidates: int,
              cold: bool) -> QualityReport:
    report = QualityReport(users=users, candidates=candidates, cold=cold)
    for name, values in per.items():
        array = np.asarray(values)
        report.metrics[name] = Metrics(ndcg10=float(array[:, 0].mean()), hr10=float(array[:, 1].mean()))
    return report


def leave_last_out(data: SceneData, *, source: str | None = None, target: str | None = None,
                   users: int = 200, negatives: int = 19, seed: int = 0, cold: bool = False,
                   generators: Sequence[GeneratorSpec] = DEFAULT_GENERATORS,
                   minimum: int = 5) -> QualityReport:
    """Each generator alone, the default fusion, and random, on the protocol's cases."""
    source, target = source or data.source, target or data.target
    if source is None or target is None:
        raise ScenebridgeError("name the source and the target scene", param="source")
    cases = leave_last_out_cases(data, source=source, target=target, users=users, negatives=negatives,
                                 seed=seed, cold=cold, minimum=minimum)
    per: dict[str, list[tuple[float, float]]] = {}
    for case in cases:
        candidates = score_candidates(data, case.evidence, case.candidates, generators=generators)
        for name in candidates.generators:
            per.setdefault(name, []).append(metrics_of(np.array([c.scores[name] for c in candidates.items])))
        per.setdefault(FUSED, []).append(metrics_of(candidates.fused()))
        per.setdefault(RANDOM, []).append(expected_at_10(0, negatives))
    return summarize(per, users=len(cases), candidates=negatives + 1, cold=cold)
