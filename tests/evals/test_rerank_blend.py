"""The hybrid of both, fitted offline: blending a rerank run's rows reproduces what the ranker
serves with that weight, and the fit picks the weight the validation rows favour."""

from __future__ import annotations

import asyncio
import json

from agent.cases import rank_metrics, true_item_position
from agent.rankers import RerankRanker
from agent.rankers.base import OutputErrors
from agent.rankers.rerank import RerankConfig
from evals.rerank_blend import blended_row, fit_weight, write_blended
from evals.rows import EvalRow, Timings, read_rows
from tests.agent.fake_llm import FakeLLM, prefers
from tests.agent.rankers.test_rerank import request


def row_of(ranking, held_out: str) -> EvalRow:
    position = true_item_position(ranking.scores, held_out)
    return EvalRow(user=f"u-{held_out}", held_out=held_out, candidates=sorted(ranking.item_ids),
                   true_position=None, ranking=ranking.item_ids, scores=ranking.scores,
                   metrics=rank_metrics(*position), fallback=ranking.fallback, errors=OutputErrors(), prompt=None,
                   source_history=1, target_history=0, timings=Timings(total=0, model=0),
                   positions=ranking.positions)


def test_blending_rows_matches_the_ranker_with_that_weight():
    req = request(30)
    liked = {"Film 12": 0.3, "Film 0": 0.2, "Film 5": 0.1}
    plain = asyncio.run(RerankRanker(FakeLLM(prefers(liked))).rank(req))
    for weight in (0.0, 0.5, 2.0):
        served = asyncio.run(RerankRanker(FakeLLM(prefers(liked)), RerankConfig(prior_weight=weight)).rank(req))
        assert blended_row(row_of(plain, "Film 5"), weight).ranking == served.item_ids


def test_the_fit_prefers_the_backbone_when_the_model_is_wrong(tmp_path):
    req = request(20)
    # The model always prefers Film 19; the true item is the backbone's first: weight must grow.
    ranking = asyncio.run(RerankRanker(FakeLLM(prefers({"Film 19": 0.9}))).rank(req))
    run = tmp_path / "val"
    run.mkdir()
    (run / "rows.jsonl").write_text("".join(row_of(ranking, "Film 0").line() for _ in range(3)))
    (run / "config.json").write_text(json.dumps({"ranker": "rerank", "protocol": "full"}))
    weight, curve = fit_weight([run])
    assert weight > 0 and curve[weight] > curve[0.0]
    out = write_blended(run, weight, tmp_path / "blended")
    assert json.loads((out / "config.json").read_text())["prior_weight"] == weight
    assert all(r.metrics["ndcg@10"] == curve[weight] for r in read_rows(out))
