"""The harness end to end on the ML-100k store: runs, resume, compare, and one LLM run."""

import asyncio
import json

import numpy as np
import pytest

from agent.cases import active_users, build_cases, rank_metrics, true_item_position, users_in
from agent.fusion import FusionWeights
from agent.service import Service
from core.errors import ScenebridgeError
from evals.compare import compare_runs
from evals.config import RunConfig
from evals.rows import read_explained, read_rows
from evals.run_metrics import RunMetrics
from evals.runner import prepare_run_dir, run

pytestmark = pytest.mark.slow


def config(store_path, **fields):
    return RunConfig(**{"dataset": "ml-100k", "users": 12, "store": store_path, "ranker": "popularity", **fields})


def metrics_of(out) -> RunMetrics:
    return RunMetrics.read(out / "metrics.json")


def without_timings(out) -> dict:
    return {r.user: r.model_dump(exclude={"timings"}) for r in read_rows(out)}


def test_a_run_writes_rows_metrics_and_report(tmp_path, store_path, retriever, data):
    run_config = config(store_path)
    out = asyncio.run(run(run_config, tmp_path / "pop", progress=False))
    written = {r.user: r for r in read_rows(out)}
    pool = users_in(active_users(data, "Comedy", "Sci-Fi"), "test")
    cases = build_cases(data, "warm", source="Comedy", target="Sci-Fi", users=12, pool=pool)
    assert sorted(written) == sorted(c.user_id for c in cases)  # the protocol's users, each once
    service = Service(retriever, None, FusionWeights())
    for case in cases:
        row = written[case.user_id]
        assert row.held_out == case.held_out and row.candidates == list(case.order)
        assert row.candidates[row.true_position] == row.held_out
        assert sorted(row.ranking) == sorted(row.candidates)
        assert [row.scores[i] for i in row.ranking] == sorted(row.scores.values(), reverse=True)
        # The metrics are where the held-out item lands under the ranker's own (unrounded) scores.
        popularity = service.case_request(data, case).generator_scores["popularity"]
        assert row.metrics == rank_metrics(*true_item_position(popularity, case.held_out))
        assert row.fallback is None and row.prompt is None and row.errors.invalid == 0
        assert row.target_history == len(case.evidence.target_history) > 0
    metrics = metrics_of(out)
    assert metrics.users == 12
    assert metrics.ndcg_at_10 == pytest.approx(np.mean([r.metrics["ndcg@10"] for r in written.values()]))
    assert metrics.mrr == pytest.approx(np.mean([r.metrics["mrr"] for r in written.values()]))
    assert metrics.invalid_rate == metrics.fallback_rate == metrics.history_error_rate == 0.0
    assert sum(metrics.ndcg_at_10_by_position_quarter.values()) > 0 and metrics.position_spread_p <= 1
    assert metrics.coverage is None and "coverage" not in json.loads((out / "metrics.json").read_text())
    assert (out / "report.md").read_text().startswith("# popularity, warm")
    assert (out / "ndcg_at_k.png").stat().st_size > 1000


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, store_path):
    out = tmp_path / "resume"
    asyncio.run(run(config(store_path), out, progress=False))
    complete = without_timings(out)
    metrics = metrics_of(out).by_key()
    lines = (out / "rows.jsonl").read_text().splitlines()
    (out / "rows.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])  # killed mid-write
    asyncio.run(run(config(store_path), out, progress=False))
    assert (out / "rows.jsonl").read_text().splitlines()[:5] == lines[:5]  # kept as written
    assert without_timings(out) == complete
    resumed = metrics_of(out).by_key()
    timed = {"seconds_p50", "seconds_p95", "wall_seconds"}
    assert {k: v for k, v in resumed.items() if k not in timed} == {k: v for k, v in metrics.items() if k not in timed}


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
    rows_a, rows_b = ({r.user: r for r in read_rows(out)} for out in (a, b))
    assert {u: r.candidates for u, r in rows_a.items()} == {u: r.candidates for u, r in rows_b.items()}
    result = compare_runs(a, b, resamples=500)
    assert result.shared_users == 12 and result.users_with_other_candidates == 0
    for metric, compared in result.metrics.items():
        mean_a = np.mean([r.metrics[metric] for r in rows_a.values()])
        mean_b = np.mean([r.metrics[metric] for r in rows_b.values()])
        assert (compared.a, compared.b) == (pytest.approx(mean_a), pytest.approx(mean_b))
        assert compared.delta == pytest.approx(mean_b - mean_a)
        low, high = compared.ci95
        assert low <= compared.delta <= high and compared.significant == (low > 0 or high < 0)
    itself = compare_runs(a, a, resamples=500).metrics["ndcg@10"]
    assert itself.delta == 0.0 and itself.ci95 == (0.0, 0.0) and not itself.significant


def test_cold_hides_the_target_history_and_no_transfer_hides_the_source(tmp_path, store_path):
    cold = read_rows(asyncio.run(run(config(store_path, protocol="cold", ranker="cross_cooc"), tmp_path / "c",
                                     progress=False)))
    assert all(r.target_history == 0 for r in cold)
    blind = asyncio.run(run(config(store_path, protocol="cold", ranker="itemknn", transfer=False),
                            tmp_path / "d", progress=False))
    # Without either scene's history a cold user has nothing left: every score ties, random's expectation.
    assert metrics_of(blind).ndcg_at_10 == pytest.approx(0.2268, abs=1e-3)
    with pytest.raises(ValueError, match="no no-transfer variant"):
        config(store_path, ranker="cross_cooc", transfer=False)


def test_retrieved_protocol_measures_beyond_accuracy(tmp_path, store_path, data):
    out = asyncio.run(run(config(store_path, protocol="retrieved", ranker="popularity"), tmp_path / "r",
                          progress=False))
    rows = read_rows(out)
    for row in rows:
        assert len(row.candidates) == 20 and (row.true_position is None) == (row.held_out not in row.candidates)
        if row.true_position is None:  # the generators missed it: nothing to rank
            assert set(row.metrics.values()) == {0.0}
    metrics = metrics_of(out)
    assert metrics.held_out_retrieved_rate == pytest.approx(np.mean([r.held_out in r.candidates for r in rows]))
    shown = {i for r in rows for i in r.ranking[:10]}
    assert metrics.coverage == pytest.approx(len(shown) / data.scene("Sci-Fi").n_items)
    assert metrics.novelty > 0 and 0 < metrics.intra_list_diversity <= 2


@pytest.mark.live_llm
def test_an_llm_run_against_the_real_server(tmp_path, store_path, llm_url):
    out = asyncio.run(run(config(store_path, ranker="verbalizer", users=4, llm_url=llm_url), tmp_path / "v",
                          progress=False))
    written = read_rows(out)
    assert len(written) == 4 and all(r.fallback is None for r in written)
    assert all(r.prompt.template == "verbalizer" for r in written)


@pytest.mark.live_llm
def test_explained_users_are_checked_and_judged_or_say_why_not(tmp_path, store_path, llm_url):
    # One user, top 3 explained, judged by the local server: every explanation gets a ragas score
    # or a recorded reason per metric; none is silently dropped.
    out = asyncio.run(run(config(store_path, ranker="hybrid", users=1, explain_users=1, llm_url=llm_url),
                          tmp_path / "x", progress=False))
    (line,) = read_explained(out / "explanations.jsonl")
    assert line.judge and len(line.checks) == 3
    for verdict in line.checks:
        assert verdict.text
        for metric in ("faithfulness", "answer_relevancy"):
            value = getattr(verdict, metric)
            assert (value is not None) != (metric in verdict.judge_errors)
            if value is not None:
                assert 0 <= value <= 1
    metrics = metrics_of(out)
    failures = sum(len(v.judge_errors) for v in line.checks)
    assert metrics.explanations == 3 and sum(metrics.ragas_judge_errors.values()) == failures


@pytest.mark.parametrize("protocol", ["full", "full-cold"])
def test_the_full_catalogue_protocol_ranks_every_unseen_item(tmp_path, store_path, data, protocol):
    out = asyncio.run(run(config(store_path, protocol=protocol, ranker="backbone"), tmp_path / protocol,
                          progress=False))
    rows = read_rows(out)
    scene = data.scene("Sci-Fi")
    for row in rows:
        seen = {e.item_id for e in data.history(row.user, "Sci-Fi")}
        assert set(row.candidates) == (set(scene.items.tolist()) - seen) | {row.held_out}
        assert row.target_history == (0 if protocol == "full-cold" else len(seen) - 1)
        # each row's metrics recomputed from its own ranking: where the held-out item landed
        rank = row.ranking.index(row.held_out)
        tied = sum(1 for i in row.ranking if i != row.held_out and row.scores[i] == row.scores[row.held_out])
        if not tied:
            assert row.metrics["ndcg@10"] == pytest.approx(1 / np.log2(rank + 2) if rank < 10 else 0.0, abs=1e-5)
            assert row.metrics["recall@20"] == float(rank < 20) and row.metrics["mrr"] == pytest.approx(1 / (rank + 1))
    metrics = metrics_of(out)
    assert metrics.recall_at_20 == pytest.approx(np.mean([r.metrics["recall@20"] for r in rows]))
    assert metrics.ndcg_at_10 == pytest.approx(np.mean([r.metrics["ndcg@10"] for r in rows]))
    tops = [r.ranking[:10] for r in rows]
    assert metrics.coverage == pytest.approx(len({i for top in tops for i in top}) / scene.n_items)
    popularity = dict(zip(scene.items.tolist(), scene.popularity.tolist(), strict=True))
    novelty = np.mean([-np.log2(max(popularity[i], 1) / len(data.users)) for top in tops for i in top])
    assert metrics.novelty == pytest.approx(novelty)


def test_llm_rankers_are_refused_on_the_full_catalogue(store_path):
    with pytest.raises(ValueError, match="short list"):
        config(store_path, protocol="full", ranker="verbalizer")
