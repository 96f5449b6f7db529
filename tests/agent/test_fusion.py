
from agent.fusion import LLM, FitExample, FusionWeights, fit_weights, fuse, mean_ndcg


def examples(rng, n=60, size=20):
    """A 'signal' component that knows the held-out item and a 'noise' one that does not."""
    out = []
    for _ in range(n):
        ids = [f"i{k}" for k in range(size)]
        held = ids[int(rng.integers(size))]
        signal = {i: float(rng.normal()) + (3.0 if i == held else 0.0) for i in ids}
        noise = {i: float(rng.normal()) for i in ids}
        out.append(FitExample(ids=ids, held_out=held, components={"signal": signal, "noise": noise}))
    return out


def test_fit_finds_the_component_with_signal(rng):
    data = examples(rng)
    weights, best = fit_weights(data)
    assert weights["signal"] > weights["noise"]
    assert best > mean_ndcg(data, {"noise": 1.0}) + 0.3


def test_ties_never_favour_the_listed_order():
    ids = [f"i{k}" for k in range(20)]
    flat = FitExample(ids=ids, held_out="i0", components={"c": dict.fromkeys(ids, 1.0)})
    assert abs(mean_ndcg([flat], {"c": 1.0}) - 0.227) < 0.01  # random's NDCG@10 with 20 candidates


def test_llm_scores_are_normalised_over_the_candidates():
    fused = fuse({LLM: {"a": 0.9, "b": 0.1}, "popularity": {"a": -1.0, "b": 1.0}}, ["a", "b"],
                 {LLM: 1.0, "popularity": 1.0})
    assert fused["a"] == fused["b"] == 0.0  # z(llm) = (+1, -1); popularity arrives normalised


def test_weights_round_trip(tmp_path):
    weights = FusionWeights(weights={"llm": 0.0, "itemknn": 1.0}, fitted=True, fitted_on={"users": 40})
    weights.save(tmp_path / "w.json")
    assert FusionWeights.load(tmp_path / "w.json") == weights
    assert FusionWeights.load(tmp_path / "missing.json").fitted is False
