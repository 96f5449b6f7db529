"""The offline quality check of the candidate generators (LensKit-style), on the leave-last-out
protocol (agent/cases/protocols.py): each generator alone, their default fusion, and random, by
NDCG@10 and HR@10 with ties at their expectation (a generator without signal scores exactly what
random does: NDCG@10 ~0.227 with 20 candidates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent.candidates.generate import DEFAULT_GENERATORS, GeneratorSpec, score_candidates
from agent.candidates.scene_data import SceneData
from agent.cases import expected_at_10, leave_last_out_cases
from core.errors import ScenebridgeError

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
