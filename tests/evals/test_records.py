"""The run directory's records read what older runs wrote and write it back key for key."""

import json

import pytest

from evals.explanations import ExplanationCheck
from evals.rows import EvalRow, read_explained, read_rows
from evals.run_metrics import RunMetrics


def old_row(user: str, *, retrieved: bool = True, llm: bool = False) -> str:
    """A rows.jsonl line as the runner wrote it while rows were dict literals."""
    candidates = ["Alien (1979)", "Gattaca (1997)", "Solo (1996)"]
    return json.dumps({
        "user": user, "held_out": "Gattaca (1997)" if retrieved else "Contact (1997)", "candidates": candidates,
        "true_position": 1 if retrieved else None, "ranking": ["Gattaca (1997)", "Alien (1979)", "Solo (1996)"],
        "scores": {"Alien (1979)": 0.25, "Gattaca (1997)": 1.5, "Solo (1996)": -1.0e-06},
        "metrics": {"ndcg@1": 1.0 if retrieved else 0.0, "mrr": 1.0 if retrieved else 0.0},
        "fallback": "the answer was unparsable" if llm else None,
        "errors": {"invalid": int(llm), "out_of_candidates": 0, "duplicates": 0, "missing": 2 * llm},
        "prompt": {"template": "verbalizer", "sha256": "ab" * 32} if llm else None,
        "source_history": 31, "target_history": 0 if llm else 7,
        "timings": {"total": 0.0123, "model": 0.01 if llm else 0.0},
    })


@pytest.mark.parametrize("options", [{}, {"retrieved": False}, {"llm": True}])
def test_an_old_row_parses_and_writes_back_byte_for_byte(options):
    line = old_row("100k_7", **options)
    row = EvalRow.model_validate(json.loads(line))
    assert row.line() == line + "\n"
    assert row.errors.missing == 2 * options.get("llm", False) and (row.prompt is not None) == options.get("llm", False)
    assert (row.true_position is None) == (options.get("retrieved") is False)


def test_rows_are_read_up_to_a_line_cut_by_an_interruption(tmp_path):
    lines = [old_row(f"100k_{n}") for n in range(3)]
    (tmp_path / "rows.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:50])
    rows = read_rows(tmp_path)
    assert [r.user for r in rows] == ["100k_0", "100k_1"] and rows[0].scores["Gattaca (1997)"] == 1.5


def test_an_explained_user_round_trips(tmp_path):
    check = ExplanationCheck(item_id="Alien (1979)", text="Like Help!.", source="evidence", citations_valid=True,
                             facts_valid=False, unsupported=["1984"], judge_errors={"faithfulness": "timeout"})
    line = json.dumps({"user": "100k_1", "judge": None, "checks": [check.model_dump()]})  # as the runner wrote
    (tmp_path / "explanations.jsonl").write_text(line + "\n")
    (explained,) = read_explained(tmp_path / "explanations.jsonl")
    assert explained.checks == [check] and explained.line() == line + "\n"
    assert read_explained(tmp_path / "none.jsonl") == []


# metrics.json of a warm run with explanations (nulls where the judge scored nothing), then the
# keys only older runs have (position_cv) or only the retrieved protocol measures.
OLD_METRICS = {
    "duplicates_rate": 0.0, "explanation_citation_validity": 1.0, "explanation_fact_validity": 1.0,
    "explanation_llm_worded_rate": 0.0, "explanations": 6, "fallback_rate": 0.0, "history_error_rate": 0.0,
    "hr@1": 0.05, "hr@10": 0.45, "hr@5": 0.35, "invalid_rate": 0.0, "judge": None, "missing_rate": 0.0,
    "mrr": 0.19188165592577358, "ndcg@1": 0.05, "ndcg@10": 0.22150410931673062,
    "ndcg@10_by_position": {"0": 0.0, "2": 0.16666666666666666, "9": 0.40876468265396737, "10": 0.3820049457033632,
                            "18": 0.5},
    "ndcg@10_by_position_quarter": {"q1": 0.0625, "q2": 0.2610828535078053, "q3": 0.2055272979522497,
                                    "q4": 0.34510531939357036},
    "ndcg@20": 0.3644589410845257, "ndcg@5": 0.18849235246641025, "out_of_candidates_rate": 0.0,
    "position_spread": 1.2758468466581387, "position_spread_null": 0.8162699038586894,
    "position_spread_p": 0.11388611388611389, "precision@10": 0.045000000000000005, "precision@5": 0.07,
    "ragas_answer_relevancy": None, "ragas_evidence_named": 0.5555555555555555, "ragas_faithfulness": None,
    "ragas_judge_errors": {}, "ragas_judged": 0, "recall@10": 0.45, "recall@5": 0.35, "seconds_p50": 0.00995,
    "seconds_p95": 0.01756, "users": 40, "wall_seconds": 8.2,
}
OLDER = {"users": 3, "ndcg@10": 0.5, "position_cv": 0.25, "position_spread": 0.75, "ndcg@10_by_position": {"1": 0.5}}
RETRIEVED = {"users": 2, "ndcg@10": 0.25, "coverage": 0.5862068965517241, "held_out_retrieved_rate": 0.7,
             "intra_list_diversity": 0.7289527910122402, "novelty": 7.5}


def as_written(metrics: dict) -> str:
    """metrics.json as json.dumps wrote it, positions being ints in the dict it dumped."""
    by_position = metrics.get("ndcg@10_by_position")
    if by_position is not None:
        metrics = {**metrics, "ndcg@10_by_position": {int(k): v for k, v in by_position.items()}}
    return json.dumps(metrics, indent=2, sort_keys=True)


@pytest.mark.parametrize("written", [OLD_METRICS, OLDER, RETRIEVED])
def test_an_old_metrics_json_reads_and_writes_back_byte_for_byte(tmp_path, written):
    text = as_written(written)
    positions = list(json.loads(text).get("ndcg@10_by_position", {}))
    assert positions == sorted(positions, key=int)  # "9" before "10", as written
    (tmp_path / "metrics.json").write_text(text)
    metrics = RunMetrics.read(tmp_path / "metrics.json")
    assert metrics.to_json() == text and set(metrics.by_key()) == set(written)
    assert metrics.users == written["users"] and metrics.ndcg_at_10 == written["ndcg@10"]


def test_metrics_read_by_attribute():
    metrics = RunMetrics.model_validate(OLD_METRICS)
    assert metrics.ndcg_at_10_by_position[10] == 0.3820049457033632  # positions are ints again
    assert metrics.ragas_faithfulness is None and metrics.explanations == 6 and metrics.coverage is None
    assert "coverage" not in metrics.by_key() and metrics.by_key()["ragas_faithfulness"] is None
    assert RunMetrics.model_validate(OLDER).model_extra == {"position_cv": 0.25}


def test_an_empty_run_has_only_its_user_count():
    assert RunMetrics.model_validate({"users": 0}).to_json() == '{\n  "users": 0\n}'
