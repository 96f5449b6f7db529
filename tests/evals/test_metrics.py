import numpy as np
import pytest
from hypothesis import given, settings
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


def plain_paired_bootstrap(a, b, resamples=2000, seed=0):
    """The resampling the scipy call must amount to: users drawn with replacement, pairs kept."""
    diff = b - a
    means = diff[np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def test_paired_bootstrap_is_a_percentile_bootstrap_of_paired_users(rng):
    a = rng.beta(0.8, 1.6, 400)
    b = np.clip(a + 0.02 + rng.normal(0, 0.15, 400), 0, 1)
    delta, low, high = paired_bootstrap(a, b)
    assert delta == pytest.approx(np.mean(b - a)) and low < delta < high
    plain = plain_paired_bootstrap(a, b, seed=1)  # another seed: equal within Monte Carlo noise
    assert (low, high) == (pytest.approx(plain[0], abs=0.003), pytest.approx(plain[1], abs=0.003))
    unpaired = np.percentile([rng.choice(b, 400).mean() - rng.choice(a, 400).mean() for _ in range(2000)],
                             [2.5, 97.5])
    assert high - low < 0.6 * (unpaired[1] - unpaired[0])  # pairing removes the users' own variance
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)


def plain_position_spread_null(quarters, scores, mean, resamples=1000, seed=0):
    rng = np.random.default_rng(seed)
    observed = position_spread(quarters, scores, mean)
    null = np.array([position_spread(rng.permutation(quarters), scores, mean) for _ in range(resamples)])
    return float(np.median(null)), float((np.sum(null >= observed - 1e-12) + 1) / (resamples + 1))


@pytest.mark.parametrize("bonus", [0.0, 0.08])
def test_position_spread_null_is_a_permutation_test_of_the_quarters(rng, bonus):
    quarters = rng.integers(0, 4, 400)
    scores = rng.beta(0.8, 1.6, 400) + (quarters == 0) * bonus
    null, p = position_spread_null(quarters, scores, scores.mean(), resamples=2000, seed=3)
    plain_null, plain_p = plain_position_spread_null(quarters, scores, scores.mean(), resamples=2000, seed=4)
    standard_error = np.sqrt(2 * max(plain_p * (1 - plain_p), 1e-3) / 2000)
    assert p == pytest.approx(plain_p, abs=4 * standard_error) and null == pytest.approx(plain_null, rel=0.05)


@settings(max_examples=25, deadline=None)
@given(users=st.integers(2, 60), seed=st.integers(0, 2**16))
def test_position_spread_p_is_a_probability(users, seed):
    rng = np.random.default_rng(seed)
    quarters, scores = rng.integers(0, 4, users), rng.random(users)
    null, p = position_spread_null(quarters, scores, scores.mean() or 1.0, resamples=200, seed=seed)
    assert 0 < p <= 1 and null >= 0


def test_one_quarter_has_no_spread():
    assert position_spread_null(np.zeros(5, dtype=int), np.arange(5.0), 2.0) == (0.0, 1.0)
