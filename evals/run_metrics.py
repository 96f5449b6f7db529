"""``RunMetrics``: what ``metrics.json`` holds for one run (evals/report.py ``aggregate``).

Fields carry the file's keys as aliases (``ndcg_at_10`` is ``"ndcg@10"``). A key the run did not
measure (the beyond-accuracy ones outside the retrieved protocol, explanations when none were
checked) is left unset and stays out of the file, while one measured as null stays null; keys of
older runs this model does not name (``position_cv``) are kept as they were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _at(key: str) -> Any:
    return Field(default=None, alias=key)


class RunMetrics(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    users: int
    # Accuracy: agent.cases.rank_metrics, mean over users (absent when no user was evaluated).
    ndcg_at_1: float | None = _at("ndcg@1")
    ndcg_at_5: float | None = _at("ndcg@5")
    ndcg_at_10: float | None = _at("ndcg@10")
    ndcg_at_20: float | None = _at("ndcg@20")
    hr_at_1: float | None = _at("hr@1")
    hr_at_5: float | None = _at("hr@5")
    hr_at_10: float | None = _at("hr@10")
    hr_at_20: float | None = _at("hr@20")
    mrr: float | None = None
    precision_at_5: float | None = _at("precision@5")
    precision_at_10: float | None = _at("precision@10")
    recall_at_5: float | None = _at("recall@5")
    recall_at_10: float | None = _at("recall@10")
    recall_at_20: float | None = _at("recall@20")
    # Share of users whose answer had each kind of output error, fell back, or recommended history.
    invalid_rate: float | None = None
    out_of_candidates_rate: float | None = None
    duplicates_rate: float | None = None
    missing_rate: float | None = None
    fallback_rate: float | None = None
    history_error_rate: float | None = None
    # NDCG@10 by the true item's listed position (0-based) and position quarter ("q1".."q4").
    ndcg_at_10_by_position: dict[int, float] | None = _at("ndcg@10_by_position")
    ndcg_at_10_by_position_quarter: dict[str, float] | None = _at("ndcg@10_by_position_quarter")
    # NDCG@10 and user count by the true item's place in the backbone's order ("1-5" ... ">20"):
    # what a re-ranker does with a true item the backbone ranked high, middling or low.
    ndcg_at_10_by_backbone_position: dict[str, dict[str, float]] | None = _at("ndcg@10_by_backbone_position")
    position_spread: float | None = None
    position_spread_null: float | None = None
    position_spread_p: float | None = None
    # Beyond accuracy: retrieved and full-catalogue protocols.
    coverage: float | None = None
    novelty: float | None = None
    intra_list_diversity: float | None = None
    held_out_retrieved_rate: float | None = None
    # Explanations (evals/explanations.py ``summarize``), when the run explained users.
    explanations: int | None = None
    explanation_citation_validity: float | None = None
    explanation_fact_validity: float | None = None
    explanation_llm_worded_rate: float | None = None
    ragas_faithfulness: float | None = None
    ragas_answer_relevancy: float | None = None
    ragas_judged: int | None = None
    ragas_judge_errors: dict[str, int] | None = None
    ragas_evidence_named: float | None = None
    judge: str | None = None  # the judge models, comma-separated
    # Time.
    wall_seconds: float | None = None
    seconds_p50: float | None = None
    seconds_p95: float | None = None

    def by_key(self) -> dict[str, Any]:
        """The measured values under their metrics.json keys."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    def to_json(self) -> str:
        # Python-mode dump, so positions stay ints and sort as numbers, as json.dumps always wrote them.
        return json.dumps(self.by_key(), indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> RunMetrics:
        return cls.model_validate(json.loads(path.read_text()))
