"""The hybrid of both: the re-ranker's head scores blended with the backbone's order, the blend
weight fitted on validation users' rows and applied, unchanged, to test users' rows.

A rerank run's rows hold the model's probability of every head candidate (``scores``) and each
one's place in the backbone's order (``positions``), so each weight of the grid is scored from the
same model calls (agent.rankers.rerank.blend is the formula the ranker serves with).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agent.cases import rank_metrics, true_item_position
from agent.rankers.rerank import blend
from core.errors import ScenebridgeError
from evals.rows import EvalRow, read_rows

GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def blended_row(row: EvalRow, weight: float) -> EvalRow:
    """The row as ``rerank`` with ``prior_weight=weight`` would have scored it."""
    if not row.positions:
        raise ScenebridgeError(f"row of user {row.user} has no backbone positions", param="run",
                               hint="blend the rows of a rerank run (scenebridge eval --ranker rerank)")
    if row.fallback is not None:  # the model failed here: the backbone's order stands
        return row
    head = blend({i: row.scores[i] for i in row.positions}, row.positions, weight)
    floor = min(head.values()) - 1.0
    tail = [i for i in row.ranking if i not in row.positions]
    scores = head | {i: floor - n for n, i in enumerate(tail)}
    position = true_item_position(scores, row.held_out)
    ranking = sorted(scores, key=lambda i: -scores[i])
    return row.model_copy(update={"scores": {k: round(v, 6) for k, v in scores.items()}, "ranking": ranking,
                                  "metrics": rank_metrics(*(position if position else (None,)))})


def mean_ndcg(rows: list[EvalRow], weight: float) -> float:
    return float(np.mean([blended_row(r, weight).metrics["ndcg@10"] for r in rows]))


def fit_weight(runs: list[Path], grid: tuple[float, ...] = GRID) -> tuple[float, dict[float, float]]:
    """The grid weight with the best mean NDCG@10 over the runs' rows (validation users), ties to
    the smaller weight; and the whole curve."""
    rows = [r for run in runs for r in read_rows(run)]
    curve = {w: mean_ndcg(rows, w) for w in grid}
    best = max(curve.values())
    return min(w for w, v in curve.items() if v >= best - 1e-12), curve


def write_blended(run: Path, weight: float, out: Path) -> Path:
    """A run directory of ``run``'s rows blended with ``weight`` (compare it like any run)."""
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads((run / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(config | {"prior_weight": weight}, indent=2))
    (out / "rows.jsonl").write_text("".join(blended_row(r, weight).line() for r in read_rows(run)))
    return out
