"""The per-user records of a run directory: an ``EvalRow`` per line of ``rows.jsonl``, an
``ExplainedUser`` per line of ``explanations.jsonl``.

A line is ``json.dumps`` of the record's dump, so it holds the same keys, in the same order and
spacing, as the lines written before these records were typed: old run directories resume and
re-report unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from agent.rankers import OutputErrors, PromptInfo
from evals.explanations import ExplanationCheck


class Timings(BaseModel):
    total: float  # seconds for the whole case
    model: float  # of which waiting on the LLM


OPTIONAL_KEYS = ("backbone_position", "positions")  # added after rows were first written


class EvalRow(BaseModel):
    """One evaluated user: the candidates as shown, the ranker's answer and its accuracy."""

    user: str
    held_out: str
    candidates: list[str]  # in the order the ranker saw them
    true_position: int | None  # the held-out item's index in ``candidates``; None if not retrieved
    ranking: list[str]
    scores: dict[str, float]  # rounded to 6 decimals; ``metrics`` come from the unrounded ones
    metrics: dict[str, float]  # agent.cases.rank_metrics
    fallback: str | None
    errors: OutputErrors
    prompt: PromptInfo | None
    source_history: int  # source items the ranker was given
    target_history: int  # target items the protocol left visible
    timings: Timings
    # The held-out item's 1-based place in the backbone's order of the candidates (None: not a
    # candidate, or a run from before the field): accuracy by where the true item started.
    backbone_position: int | None = None
    # Re-rankers: each re-ordered candidate's 1-based place in the backbone's order.
    positions: dict[str, int] = {}

    def line(self) -> str:
        data = self.model_dump()
        for key in OPTIONAL_KEYS:  # absent when empty: rows of older runs write back byte for byte
            if data[key] in (None, {}):
                del data[key]
        return json.dumps(data) + "\n"


def parse_row(line: str) -> EvalRow | None:
    """The row of one line; None for a line cut by an interruption."""
    try:
        return EvalRow.model_validate(json.loads(line))
    except (json.JSONDecodeError, ValidationError):
        return None


def read_rows(out: Path) -> list[EvalRow]:
    """The rows of a run directory, up to the first cut line (a resume redoes it and what follows)."""
    rows = []
    with (out / "rows.jsonl").open() as handle:
        for line in handle:
            row = parse_row(line)
            if row is None:
                break
            rows.append(row)
    return rows


class ExplainedUser(BaseModel):
    """One user's top recommendations, explained and checked (evals/explanations.py)."""

    user: str
    judge: str | None  # the ragas judge model; None when nothing judged
    checks: list[ExplanationCheck]

    def line(self) -> str:
        return json.dumps(self.model_dump()) + "\n"


def read_explained(path: Path) -> list[ExplainedUser]:
    if not path.exists():
        return []
    return [ExplainedUser.model_validate(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
