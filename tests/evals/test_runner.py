"""The harness end to end on the ML-100k store: runs, resume, compare, and one LLM run."""

import asyncio
import json

import pytest

from core.errors import ScenebridgeError
from evals.compare import compare_runs
from evals.config import RunConfig
from evals.runner import prepare_run_dir, run

pytestmark = pytest.mark.slow


def config(store_path, **fields):
    return RunConfig(**{"dataset": "ml-100k", "users": 12, "store": store_path, "ranker": "popularity", **fields})


def rows(out):
    return [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]


def test_a_run_writes_rows_metrics_and_report(tmp_path, store_path):
    out = asyncio.run(run(config(store_path), tmp_path / "pop", progress=False))
    written = rows(out)
    assert len(written) == 12 == len({r["user"] for r in written})
    for row in written:
        assert row["held_out"] in row["candidates"] and len(row["candidates"]) == 20
        assert sorted(row["ranking"]) == sorted(row["candidates"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["ndcg@10"] <= 1 and metrics["users"] == 12 and metrics["invalid_rate"] == 0
    assert (out / "report.md").read_text().startswith("# popularity, warm")
    assert (out / "ndcg_at_k.png").stat().st_size > 1000


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, store_path):
    out = tmp_path / "resume"
    asyncio.run(run(config(store_path), out, progress=False))
    complete = {r["user"]: r["metrics"] for r in rows(out)}
    lines = (out / "rows.jsonl").read_text().splitlines()
    (out / "rows.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])  # killed mid-write
    asyncio.run(run(config(store_path), out, progress=False))
    resumed = rows(out)
    assert len(resumed) == 12 and {r["user"]: r["metrics"] for r in resumed} == complete


def test_a_run_directory_refuses_another_config(tmp_path, store_path):
    out = tmp_path / "mine"
    asyncio.run(run(config(store_path), out, progress=False))
    with pytest.raises(ScenebridgeError, match="another configuration"):
        asyncio.run(run(config(store_path, ranker="itemknn"), out, progress=False))


def test_runs_from_before_order_designs_resume_as_shuffled(tmp_path, store_path):
    for permutations, resumes_balanced in ((3, False), (1, True)):
        out = tmp_path / f"p{permutations}"
        out.mkdir()
        legacy = config(store_path, ranker="verbalizer", permutations=permutations).model_dump(mode="json")
        del legacy["orders"]  # config.json as written before the field existed
        (out / "config.json").write_text(json.dumps(legacy))
        assert prepare_run_dir(out, config(store_path, ranker="verbalizer", permutations=permutations,
                                           orders="shuffled")) == set()
        if resumes_balanced:  # one order is the given order whatever the design
            prepare_run_dir(out, config(store_path, ranker="verbalizer", permutations=permutations))
        else:
            with pytest.raises(ScenebridgeError, match="another configuration"):
                prepare_run_dir(out, config(store_path, ranker="verbalizer", permutations=permutations))


def test_same_users_and_candidates_across_rankers_and_compare(tmp_path, store_path):
    a = asyncio.run(run(config(store_path, ranker="random"), tmp_path / "a", progress=False))
    b = asyncio.run(run(config(store_path, ranker="cross_cooc"), tmp_path / "b", progress=False))
    assert [(r["user"], r["candidates"]) for r in rows(a)] == [(r["user"], r["candidates"]) for r in rows(b)]
    result = compare_runs(a, b, resamples=500)
    assert result["shared_users"] == 12 and result["users_with_other_candidates"] == 0
    assert set(result["metrics"]["ndcg@10"]) >= {"a", "b", "delta", "ci95"}


def test_cold_hides_the_target_history_and_no_transfer_hides_the_source(tmp_path, store_path):
    cold = rows(asyncio.run(run(config(store_path, protocol="cold", ranker="cross_cooc"), tmp_path / "c",
                                progress=False)))
    assert all(r["target_history"] == 0 for r in cold)
    blind = asyncio.run(run(config(store_path, protocol="cold", ranker="itemknn", transfer=False),
                            tmp_path / "d", progress=False))
    # Without either scene's history a cold user has nothing left: every score ties, random's expectation.
    assert json.loads((blind / "metrics.json").read_text())["ndcg@10"] == pytest.approx(0.2268, abs=1e-3)
    with pytest.raises(ValueError, match="no no-transfer variant"):
        config(store_path, ranker="cross_cooc", transfer=False)


def test_retrieved_protocol_measures_beyond_accuracy(tmp_path, store_path):
    out = asyncio.run(run(config(store_path, protocol="retrieved", ranker="popularity"), tmp_path / "r",
                          progress=False))
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"coverage", "novelty", "intra_list_diversity", "held_out_retrieved_rate"} <= set(metrics)


@pytest.mark.live_llm
def test_an_llm_run_against_the_real_server(tmp_path, store_path, llm_url):
    out = asyncio.run(run(config(store_path, ranker="verbalizer", users=4, llm_url=llm_url), tmp_path / "v",
                          progress=False))
    written = rows(out)
    assert len(written) == 4 and all(r["fallback"] is None for r in written)
    assert all(r["prompt"]["template"] == "verbalizer" for r in written)


@pytest.mark.live_llm
def test_explained_users_are_checked_and_judged_or_say_why_not(tmp_path, store_path, llm_url):
    # One user, top 3 explained, judged by the local server: every explanation gets a ragas score
    # or a recorded reason per metric; none is silently dropped.
    out = asyncio.run(run(config(store_path, ranker="hybrid", users=1, explain_users=1, llm_url=llm_url),
                          tmp_path / "x", progress=False))
    (line,) = [json.loads(x) for x in (out / "explanations.jsonl").read_text().splitlines()]
    assert line["judge"] and len(line["checks"]) == 3
    for verdict in line["checks"]:
        assert isinstance(verdict["citations_valid"], bool) and verdict["text"]
        for metric in ("faithfulness", "answer_relevancy"):
            assert (verdict[metric] is not None) != (metric in verdict["judge_errors"])
            if verdict[metric] is not None:
                assert 0 <= verdict[metric] <= 1
    metrics = json.loads((out / "metrics.json").read_text())
    failures = sum(len(v["judge_errors"]) for v in line["checks"])
    assert metrics["explanations"] == 3 and sum(metrics["ragas_judge_errors"].values()) == failures
