"""The validation fit on real ML-100k histories: the sweep reads validation users only, the
choice is recorded and read back by the generators, and the default ranker is earned."""

from __future__ import annotations

import pytest

from agent.candidates import RankerScore, joint_matrix, read_choice
from agent.candidates.scene_data import build_scene_data
from agent.cases import split_of
from agent.selection import record_ranker, select_backbone, validation_cases
from agent.selection.backbone import EASE_GRID, IALS_GRID
from retrievers import StoreInfo

SOURCE, TARGET = "Comedy", "Sci-Fi"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh(ml100k_records):
    """A SceneData of its own (choices are kept per SceneData), outside any store."""
    return build_scene_data("ml-100k", *ml100k_records,
                            info=StoreInfo(scenes=[SOURCE, TARGET], source=SOURCE, target=TARGET))


@pytest.fixture(scope="module")
def choice(fresh):
    return select_backbone(fresh, SOURCE, TARGET, progress=False)


def test_the_sweep_reads_validation_users_only(fresh, choice):
    for cold in (False, True):
        cases = validation_cases(fresh, SOURCE, TARGET, cold=cold)
        assert cases and {split_of(str(fresh.users[c.query.user_row])) for c in cases} == {"validation"}
    assert choice.validation_users == {"warm": len(cases), "cold": len(cases)}
    grid = len(EASE_GRID["l2"]) + len(IALS_GRID["factors"]) * len(IALS_GRID["regularization"]) * len(IALS_GRID["alpha"])
    assert len(choice.sweep) == 2 * grid


def test_each_model_keeps_its_best_configuration_per_kind_of_user(choice):
    for warmth in ("warm", "cold"):
        for model in ("ease", "ials"):
            rows = [r for r in choice.sweep if r.model == model and r.warmth == warmth]
            best = max(rows, key=lambda r: r.criterion)
            assert choice.config(model, warmth) == best.config
            assert best.criterion == pytest.approx(sum(best.metrics[f"ndcg@10_{p}"]
                                                       for p in ("uniform", "popular", "full")) / 3)
        winner = choice.backbone[warmth]
        loser = "ials" if winner == "ease" else "ease"
        assert (max(r.criterion for r in choice.sweep if r.model == winner and r.warmth == warmth)
                >= max(r.criterion for r in choice.sweep if r.model == loser and r.warmth == warmth))


def test_the_generators_read_the_recorded_choice(fresh, choice):
    assert read_choice(fresh, joint_matrix(fresh, SOURCE, TARGET)) == choice
    from agent.candidates import make_generator, user_evidence
    from agent.candidates.evidence import resolve

    user = next(str(u) for u in fresh.users if split_of(str(u)) == "test"
                and fresh.scene(TARGET).matrix[fresh.user_index[str(u)]].nnz >= 5)
    cold = resolve(fresh, user_evidence(fresh, user, source=SOURCE, target=TARGET, cold=True))
    ease = make_generator("ease")
    assert ease.l2(fresh, joint_matrix(fresh, SOURCE, TARGET), cold) == choice.config("ease", "cold")["l2"]


def test_the_default_is_earned(fresh, choice):
    assert choice.default_ranker == max(choice.rankers, key=lambda n: choice.rankers[n].mean)
    assert choice.rankers["backbone"].mean > choice.rankers["popularity"].mean
    backbone = RankerScore(warm=0.60, cold=0.55)
    # a challenger better for warm users only does not become the default...
    lost = record_ranker(fresh, SOURCE, TARGET, "hybrid", RankerScore(warm=0.70, cold=0.50), backbone)
    assert lost.default_ranker == choice.default_ranker and lost.rankers["hybrid"].warm == 0.70
    # ...one better for both does, and a later fit that no longer wins hands the default back
    won = record_ranker(fresh, SOURCE, TARGET, "hybrid", RankerScore(warm=0.61, cold=0.56), backbone)
    assert won.default_ranker == "hybrid" and "against backbone" in won.decided_by
    back = record_ranker(fresh, SOURCE, TARGET, "hybrid", RankerScore(warm=0.59, cold=0.56), backbone)
    assert back.default_ranker == choice.default_ranker
