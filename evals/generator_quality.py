"""The offline quality check of the candidate generators (LensKit-style), on the leave-last-out
protocol (agent/cases/protocols.py): each generator alone, their default fusion, and random, by
NDCG@10 and HR@10 with ties at their expectation (a generator without signal scores exactly what
random does: NDCG@10 ~0.227 with 20 candidates).

It is the evaluation harness without a ranker: a generator's scores of a case's candidates make
the case's ``EvalRow`` (accuracy from agent.cases, as for any ranker), and a generator's rows
aggregate to ``RunMetrics`` the way a run's rows do (evals/report.py ``accuracy``). The cases are
drawn from every active user, not only the test split: the generators are not fitted to anyone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from agent.candidates.generate import DEFAULT_GENERATORS, GeneratorSpec, score_candidates
from agent.candidates.scene_data import SceneData
from agent.cases import Case, leave_last_out_cases, rank_metrics, true_item_position
from agent.rankers import OutputErrors
from core.errors import ScenebridgeError
from evals.report import accuracy
from evals.rows import EvalRow, Timings
from evals.run_metrics import RunMetrics

FUSED = "fused"
RANDOM = "random"  # no signal: every candidate tied, so each metric is its expectation over orders


def score_row(case: Case, scores: Sequence[float], *, seconds: float = 0.0) -> EvalRow:
    """The row of ``case`` ranked by ``scores``, one per ``case.candidates`` (held-out item first)."""
    values = np.asarray(scores, dtype=np.float64)
    by_item = dict(zip(case.candidates, values.tolist(), strict=True))
    order = list(case.order)
    return EvalRow(
        user=case.user_id,
        held_out=case.held_out,
        candidates=order,
        true_position=order.index(case.held_out),
        ranking=sorted(order, key=lambda i: -by_item[i]),  # stable: ties keep the shown order
        scores={i: round(v, 6) for i, v in by_item.items()},
        metrics=rank_metrics(*true_item_position(by_item, case.held_out)),
        fallback=None,
        errors=OutputErrors(),
        prompt=None,
        source_history=len(case.evidence.source_items),
        target_history=len(case.evidence.target_history),
        timings=Timings(total=round(seconds, 4), model=0.0),
    )


def generator_rows(data: SceneData, cases: Sequence[Case],
                   generators: Sequence[GeneratorSpec] = DEFAULT_GENERATORS) -> dict[str, list[EvalRow]]:
    """Per generator, then the default fusion and random: one row per case."""
    rows: dict[str, list[EvalRow]] = {}
    for case in cases:
        started = time.perf_counter()
        candidates = score_candidates(data, case.evidence, case.candidates, generators=generators)
        seconds = time.perf_counter() - started  # every generator's scores come from one pass
        for name in candidates.generators:
            rows.setdefault(name, []).append(score_row(case, [c.scores[name] for c in candidates.items],
                                                       seconds=seconds))
        rows.setdefault(FUSED, []).append(score_row(case, candidates.fused(), seconds=seconds))
        rows.setdefault(RANDOM, []).append(score_row(case, np.zeros(len(case.candidates))))
    return rows


def summarize(rows: dict[str, list[EvalRow]]) -> dict[str, RunMetrics]:
    return {name: RunMetrics.model_validate(accuracy(values)) for name, values in rows.items()}


def leave_last_out(data: SceneData, *, source: str | None = None, target: str | None = None,
                   users: int = 200, negatives: int = 19, seed: int = 0, cold: bool = False,
                   generators: Sequence[GeneratorSpec] = DEFAULT_GENERATORS,
                   minimum: int = 5) -> dict[str, RunMetrics]:
    """Each generator alone, the default fusion, and random, on the protocol's cases."""
    source, target = source or data.source, target or data.target
    if source is None or target is None:
        raise ScenebridgeError("name the source and the target scene", param="source")
    cases = leave_last_out_cases(data, source=source, target=target, users=users, negatives=negatives,
                                 seed=seed, cold=cold, minimum=minimum)
    return summarize(generator_rows(data, cases, generators))
