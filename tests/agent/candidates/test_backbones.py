"""The collaborative backbones on real ML-100k histories: EASE against a brute-force reference,
leave-the-user-out exactly, no leakage of a held-out item, iALS fold-in for a cold user, and
attributions that add up to the score and name only the user's own items."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from agent.candidates import (UserEvidence, attribute, fit_ease, joint_matrix, make_generator, score_candidates,
                              user_evidence)
from agent.candidates.ease import ease_parts
from agent.candidates.ials import als_model, fit_ials, fold_of
from agent.candidates.scene_data import build_scene_data
from agent.cases import build_cases
from retrievers import HistoryRecords, ItemRecords, StoreInfo

SOURCE, TARGET = "Comedy", "Sci-Fi"
PLANTED = "Planted Film (2001)"


def brute_force_ease(X: np.ndarray, l2: float) -> np.ndarray:
    """Each column of B by its own ridge regression on the other columns (diag(B) = 0)."""
    n = X.shape[1]
    B = np.zeros((n, n))
    for j in range(n):
        others = np.delete(np.arange(n), j)
        A = X[:, others]
        B[others, j] = np.linalg.solve(A.T @ A + l2 * np.eye(n - 1), A.T @ X[:, j])
    return B


@pytest.fixture(scope="module")
def small(scene_data):
    """The first 300 users x the 40 most popular items of the joint matrix."""
    joint = joint_matrix(scene_data, SOURCE, TARGET)
    popular = np.argsort(-np.asarray(joint.matrix[:300].sum(axis=0)).ravel(), kind="stable")[:40]
    return joint.matrix[:300][:, np.sort(popular)].toarray().astype(np.float64)


def test_ease_closed_form_matches_brute_force(small):
    l2 = 20.0
    P = np.linalg.inv(small.T @ small + l2 * np.eye(small.shape[1]))
    closed = np.eye(len(P)) - P / np.diag(P)
    assert np.allclose(closed, brute_force_ease(small, l2), atol=1e-9)
    # ease_parts is that B, row by row, for any evidence rows and columns
    evidence, columns = np.array([0, 3, 7]), np.arange(small.shape[1])
    assert np.allclose(ease_parts(P, evidence, columns), closed[evidence][:, columns], atol=1e-12)


def test_leaving_the_user_out_equals_refitting_without_their_row(small):
    l2, user = 20.0, int(np.argmax(small.sum(axis=1)))
    P = np.linalg.inv(small.T @ small + l2 * np.eye(small.shape[1]))
    without = np.delete(small, user, axis=0)
    B_without = brute_force_ease(without, l2)
    row = np.flatnonzero(small[user])
    evidence, columns = row[:-1], np.arange(small.shape[1])
    assert np.allclose(ease_parts(P, evidence, columns, left_out=row), B_without[evidence][:, columns], atol=1e-9)


def test_the_ease_generator_is_the_joint_fit(scene_data, evidence):
    ease = make_generator({"name": "ease", "config": {"l2": 300.0}})
    joint = joint_matrix(scene_data, SOURCE, TARGET)
    P = fit_ease(joint, 300.0)
    query_row = scene_data.user_index[evidence.user_id]
    from agent.candidates.evidence import resolve

    query = resolve(scene_data, evidence)
    expected = ease_parts(P, joint.evidence(query), joint.target_columns, joint.row(query_row)).sum(axis=0)
    assert np.allclose(ease.score(scene_data, query), expected)


def test_a_cold_user_is_scored_from_source_items_alone(scene_data, both_user):
    cold = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=True)
    for name in ("ease", "ials"):
        scores = score_candidates(scene_data, cold, list(scene_data.scene(TARGET).items[:50]), generators=[name])
        values = np.array([c.scores[name] for c in scores.items])
        assert np.ptp(values) > 0, name  # a real ranking, not a constant


def _planted(ml100k_records, user: str):
    """The ML-100k records plus a Sci-Fi film that only ``user`` ever watched, as their latest."""
    histories, items = ml100k_records
    mine = np.flatnonzero(histories.entry_users == user)
    code = histories.scene_names.index(TARGET)
    stamp = histories.timestamps[mine].max() + 1.0
    planted = HistoryRecords(
        entry_users=np.append(histories.entry_users, user), scene_names=histories.scene_names,
        scene_codes=np.append(histories.scene_codes, code), item_ids=np.append(histories.item_ids, PLANTED),
        timestamps=np.append(histories.timestamps, stamp), ratings=np.append(histories.ratings, 5.0))
    vectors = np.vstack([items.vectors, items.vectors[:1]])
    catalogue = ItemRecords(ids=np.append(items.ids, PLANTED), scenes=np.append(items.scenes, TARGET),
                            vectors=vectors)
    return build_scene_data("ml-100k", planted, catalogue,
                            info=StoreInfo(scenes=[SOURCE, TARGET], source=SOURCE, target=TARGET))


@pytest.mark.parametrize("protocol", ["full", "full-cold"])
def test_a_held_out_item_only_a_leaking_fit_could_rank_first(ml100k_records, both_user, protocol):
    """The planted film's only interaction is the evaluated user's held-out one: a fit that saw it
    ranks it first; the backbones, as the evaluation calls them, do not."""
    data = _planted(ml100k_records, both_user)
    (case,) = build_cases(data, protocol, source=SOURCE, target=TARGET, users=1, pool=[both_user])
    assert case.held_out == PLANTED
    joint = joint_matrix(data, SOURCE, TARGET)
    from agent.candidates.evidence import resolve

    query = resolve(data, case.evidence)
    columns = np.array([data.scene(TARGET).item_index[i] for i in case.order])

    def rank_of_planted(scores: np.ndarray) -> int:
        planted = scores[case.order.index(PLANTED)]
        return int((scores > planted).sum())

    # What leaking fits would do (the user's row, held-out cell included, in the fit):
    P = fit_ease(joint, 5.0)
    assert rank_of_planted(ease_parts(P, joint.evidence(query), columns + joint.n_source).sum(axis=0)) == 0
    params = {"factors": 128, "regularization": 0.001, "alpha": 40.0, "iterations": 15, "seed": 0}
    model = als_model(fit_ials(joint.matrix, params), params)
    leaked = model.item_factors[columns + joint.n_source] @ model.recalculate_user(0, joint.evidence_row(query))
    assert rank_of_planted(leaked) == 0

    # The generators, as the evaluation scores a case (Service.case_request: score_candidates):
    specs = [{"name": "ease", "config": {"l2": 5.0}},
             {"name": "ials", "config": {k: v for k, v in params.items() if k != "seed"}}]
    scored = score_candidates(data, case.evidence, list(case.order), generators=specs)
    for name in ("ease", "ials"):
        scores = np.array([c.scores[name] for c in scored.items])
        assert scores[case.order.index(PLANTED)] == pytest.approx(0.0, abs=1e-6), name
        assert rank_of_planted(scores) > len(scores) // 4, name


def test_ials_folds_a_known_user_into_the_model_that_never_saw_them(scene_data, both_user):
    ials = make_generator({"name": "ials", "config": {"factors": 16, "iterations": 5}})
    cold = user_evidence(scene_data, both_user, source=SOURCE, target=TARGET, cold=True)
    from agent.candidates.evidence import resolve

    query = resolve(scene_data, cold)
    scores = ials.score(scene_data, query)
    joint = joint_matrix(scene_data, SOURCE, TARGET)
    params = ials.params(scene_data, joint, query)
    folds = fold_of(scene_data.users, params["folds"])
    mine = folds[scene_data.user_index[both_user]]
    expected_model = als_model(fit_ials(joint.matrix, params, folds == mine), params)
    factor = expected_model.recalculate_user(0, joint.evidence_row(query))
    assert np.allclose(scores, expected_model.item_factors[joint.n_source:] @ factor, atol=1e-4)
    # the same person described by likes only (outside the data) is folded into the model of everyone
    anonymous = resolve(scene_data, cold.model_copy(update={"user_id": None}))
    assert not np.allclose(ials.score(scene_data, anonymous), scores, atol=1e-4)
    assert sorted(set(folds)) == list(range(params["folds"]))


@pytest.mark.parametrize("generator", ["ease", "ials", "backbone"])
def test_attributions_add_up_to_the_score_and_name_only_the_users_items(scene_data, evidence, generator):
    from agent.candidates.evidence import resolve

    items = list(scene_data.scene(TARGET).items[:30])
    scored = score_candidates(scene_data, evidence, items, generators=[generator])
    explained = attribute(scene_data, evidence, items, generator=generator, top=1000)
    history = {i.item_id for i in evidence.source_items} | set(evidence.target_history)
    for candidate in scored.items:
        why = explained[candidate.item_id]
        assert why.score == pytest.approx(candidate.scores[generator], rel=1e-4, abs=1e-5)
        parts = sum(c.value for c in why.contributions)
        positive = sum(c.value for c in why.contributions if c.value > 0)
        assert parts == pytest.approx(positive)  # only positive parts are listed...
        assert {c.item_id for c in why.contributions} <= history
        if why.contributions:
            assert sum(c.share for c in why.contributions) == pytest.approx(1.0)
    top3 = attribute(scene_data, evidence, items[:5], generator=generator, top=3)
    assert all(len(a.contributions) <= 3 for a in top3.values())
    assert resolve(scene_data, evidence).user_row is not None


@pytest.mark.parametrize("generator", ["ease", "ials"])
def test_an_item_the_person_rated_is_never_its_own_evidence(scene_data, evidence, generator):
    """A caller may give candidates the person has rated (an evaluation's held-out item, shown
    to them again): "you gave it a 1" is no reason, and no attribution names the item itself."""
    own = list(evidence.target_history)[:10] or [i.item_id for i in evidence.source_items][:10]
    explained = attribute(scene_data, evidence, own, generator=generator, top=1000)
    assert own and all(c.item_id != item for item in own for c in explained[item].contributions)


def test_ease_attribution_is_x_times_b_exactly(scene_data, evidence):
    """The parts are x_i B_ij of the fit without the user's row: summed they give the score."""
    spec = {"name": "ease", "config": {"l2": 300.0}}
    item = str(scene_data.scene(TARGET).items[3])
    why = attribute(scene_data, evidence, [item], generator=spec, top=10_000)[item]
    from agent.candidates.evidence import resolve

    query = resolve(scene_data, evidence)
    joint = joint_matrix(scene_data, SOURCE, TARGET)
    P = fit_ease(joint, 300.0)
    column = np.array([joint.n_source + scene_data.scene(TARGET).item_index[item]])
    parts = ease_parts(P, joint.evidence(query), column, joint.row(query.user_row))[:, 0]
    assert why.score == pytest.approx(parts.sum())
    named = {joint.item_id(c): v for c, v in zip(joint.evidence(query), parts, strict=True) if v > 0}
    assert {c.item_id: c.value for c in why.contributions} == pytest.approx(named)


def test_an_anonymous_person_is_not_left_out_of_anything(scene_data):
    person = UserEvidence(source_scene=SOURCE, target_scene=TARGET,
                          source_items=("Groundhog Day (1993)", "Annie Hall (1977)"))
    scored = score_candidates(scene_data, person, list(scene_data.scene(TARGET).items), generators=["backbone"])
    values = np.array([c.scores["backbone"] for c in scored.items])
    assert np.ptp(values) > 0
    why = attribute(scene_data, person, [scored.items[int(np.argmax(values))].item_id])
    assert {c.item_id for a in why.values() for c in a.contributions} <= {"Groundhog Day (1993)", "Annie Hall (1977)"}


def test_the_joint_matrix_fingerprint_follows_the_data(ml100k_records, scene_data, both_user):
    planted = _planted(ml100k_records, both_user)
    assert joint_matrix(planted, SOURCE, TARGET).fingerprint != joint_matrix(scene_data, SOURCE, TARGET).fingerprint
    again = build_scene_data("ml-100k", *ml100k_records)
    assert joint_matrix(again, SOURCE, TARGET).fingerprint == joint_matrix(scene_data, SOURCE, TARGET).fingerprint
    assert dataclasses.is_dataclass(joint_matrix(again, SOURCE, TARGET))
    assert isinstance(joint_matrix(again, SOURCE, TARGET).matrix, sp.csr_matrix)
