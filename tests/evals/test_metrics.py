import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cases import rank_metrics, true_item_position
from evals.compare import paired_bootstrap
from evals.metrics import catalogue_coverage, intra_list_diversity, novelty, position_spread, position_spread_null


def test_a_perfect_ranking_scores_one():
    metrics = rank_metrics(0, 0)
    assert all(metrics[k] == 1.0 for k in ("ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "hr@1", "hr@10", "mrr"))
    assert metrics["precision@10"] == pytest.approx(0.1) and metrics["recall@10"] == 1.0


def test_known_values():
    metrics = rank_metrics(2, 0)  # third place
    assert metrics["ndcg@10"] == pytest.approx(1 / np.log2(4))
    assert metrics["mrr"] == pytest.approx(1 / 3) and metrics["hr@1"] == 0.0 and metrics["hr@5"] == 1.0
    assert rank_metrics(None)["ndcg@10"] == 0.0  # not retrieved


def test_all_tied_is_random():
    assert rank_metrics(0, 19)["ndcg@10"] == pytest.approx(0.2268, abs=1e-3)


@given(better=st.integers(0, 60), tied=st.integers(0, 60))
def test_metrics_are_bounded_and_monotone(better, tied):
    metrics = rank_metrics(better, tied)
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    worse = rank_metrics(better + 1, tied)
    assert all(worse[k] <= metrics[k] + 1e-12 for k in metrics)
    assert metrics["ndcg@1"] <= metrics["ndcg@5"] <= metrics["ndcg@10"] <= metrics["ndcg@20"]


def test_true_item_position():
    assert true_item_position({"a": 0.9, "b": 0.5, "c": 0.5}, "b") == (1, 1)
    assert true_item_position({"a": 1.0}, "z") is None


def test_beyond_accuracy():
    assert catalogue_coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)
    assert novelty([["rare"], ["common"]], {"rare": 1, "common": 50}, 100) == pytest.approx((np.log2(100) + 1) / 2)
    same = {"a": np.array([1.0, 0.0]), "b": np.array([1.0, 0.0]), "c": np.array([0.0, 1.0])}
    assert intra_list_diversity([["a", "b"]], same) == pytest.approx(0.0)
    assert intra_list_diversity([["a", "c"]], same) == pytest.approx(1.0)


def test_paired_bootstrap_sees_a_real_difference(rng):
    a = rng.random(300)
    delta, low, high = paired_bootstrap(a, a + 0.05 + rng.normal(0, 0.01, 300))
    assert low > 0 and delta == pytest.approx(0.05, abs=0.01)
    _, low, high = paired_bootstrap(a, a + rng.normal(0, 0.1, 300))
    assert low < 0 < high


def test_position_spread_is_read_against_its_noise_floor(rng):
    quarters = rng.integers(0, 4, 500)
    fair = rng.random(500)  # no position effect: the spread is noise
    spread = position_spread(quarters, fair, fair.mean())
    null, p = position_spread_null(quarters, fair, fair.mean(), resamples=300)
    assert 0 < spread < 0.5 and 0 < null < 0.5 and p > 0.01
    biased = fair + (quarters == 0) * 0.5  # the label-A bonus
    spread = position_spread(quarters, biased, biased.mean())
    null, p = position_spread_null(quarters, biased, biased.mean(), resamples=300)
    assert spread > 3 * null and p < 0.01
    assert position_spread(np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 0.0, 0.0]), 0.5) == 2.0
