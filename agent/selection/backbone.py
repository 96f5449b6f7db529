"""Choose the backbone on validation users, fit it, and record the choice in the store.

Each model's hyper-parameters are swept on the ``validation`` split (warm and cold users apart:
EASE's best lambda differs by protocol), scored exactly as the production generators score
(EASE with the user's row taken out of the fit; iALS fitted without every validation user's row
and each user folded in). Per kind of user the configuration with the best criterion (mean NDCG@10
over uniform, popular and full-catalogue candidates) wins within each model, and the better
model becomes ``backbone``. Then the chosen fits are made and persisted, and the default ranker
is decided among the rankers that need no model server (``rankers``); the hybrid joins that
comparison when ``fit-hybrid`` runs. Test users are never read.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
from tqdm import tqdm

from agent.candidates import (BACKBONE_MODELS, BackboneChoice, RankerScore, SceneData, SweepRow, fit_ease, fit_ials,
                              joint_matrix, make_generator, read_choice, save_choice)
from agent.candidates.ease import ease_parts
from agent.candidates.ials import DEFAULTS as IALS_DEFAULTS
from agent.candidates.ials import als_model
from agent.cases import users_in
from agent.selection.validation import Scorer, ValidationCase, evaluate, validation_cases

EASE_GRID = {"l2": (50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)}
IALS_GRID = {"factors": (64, 128), "regularization": (10.0, 50.0, 200.0), "alpha": (2.0, 4.0, 8.0)}
# Rankers that need no model server, compared for the default (cross-scene signals and floors).
NON_LLM_RANKERS = ("backbone", "cross_cooc", "popularity")
WARMTHS = ("warm", "cold")


def _grid(grid: dict[str, tuple]) -> list[dict]:
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def _sweep(model: str, configs: list[dict], fit: Callable[[dict], Scorer],
           cases: dict[str, list[ValidationCase]], bar) -> list[SweepRow]:
    """Each configuration fitted once (``fit`` returns its scorer) and scored on both kinds of user."""
    rows = []
    for config in configs:
        started = time.perf_counter()
        scorer = fit(config)
        seconds = round(time.perf_counter() - started, 3)
        for warmth in WARMTHS:
            metrics = evaluate(scorer, cases[warmth])
            rows.append(SweepRow(model=model, config=config, warmth=warmth, criterion=metrics.pop("criterion"),
                                 metrics=metrics, fit_seconds=seconds))
        bar.update(1)
    return rows


def _ease_scorer(joint) -> Callable[[dict], Scorer]:
    """EASE as the generator scores: the user's own row taken out of the fit."""
    def fit(config: dict) -> Scorer:
        P = fit_ease(joint, config["l2"])

        def scorer(query):
            left_out = joint.row(query.user_row) if query.user_row is not None else None
            return ease_parts(P, joint.evidence(query), joint.target_columns, left_out).sum(axis=0)
        return scorer
    return fit


def _ials_scorer(data: SceneData, joint) -> Callable[[dict], Scorer]:
    """iALS fitted without any validation user's row, each of them folded in (as a fold model would)."""
    excluded = np.isin(data.users, users_in(data.users.tolist(), "validation"))

    def fit(config: dict) -> Scorer:
        model = als_model(fit_ials(joint.matrix, config, excluded), config)
        target_factors = model.item_factors[joint.n_source:]

        def scorer(query):
            row = joint.evidence_row(query)
            return target_factors @ model.recalculate_user(0, row) if row.nnz else np.zeros(len(target_factors))
        return scorer
    return fit


def _best(rows: list[SweepRow], model: str, warmth: str) -> SweepRow:
    return max((r for r in rows if r.model == model and r.warmth == warmth), key=lambda r: r.criterion)


def _ranker_scores(data: SceneData, cases: dict[str, list[ValidationCase]]) -> dict[str, RankerScore]:
    scores = {}
    for name in NON_LLM_RANKERS:
        generator = make_generator(name)
        figures = {w: evaluate(lambda q: generator.score(data, q), cases[w])["criterion"] for w in WARMTHS}
        scores[name] = RankerScore(**figures, measure="criterion: mean NDCG@10 over uniform, popular "
                                   "and full-catalogue candidates")
    return scores


def _warm_up(data: SceneData, choice: BackboneChoice, cases: dict[str, list[ValidationCase]]) -> None:
    """Make and persist the production fits of the chosen configurations now, not on a request."""
    for warmth in WARMTHS:
        query = cases[warmth][0].query if cases[warmth] else None
        if query is None:
            continue
        for model in choice.configs:
            make_generator(model).score(data, query)


def select_backbone(data: SceneData, source: str, target: str, *, users: int | None = None, seed: int = 0,
                    progress: bool = True) -> BackboneChoice:
    """Sweep, choose, fit and record (``choice.json`` beside the fits in the store)."""
    joint = joint_matrix(data, source, target)
    cases = {w: validation_cases(data, source, target, cold=w == "cold", users=users, seed=seed) for w in WARMTHS}
    if not cases["warm"]:  # a small imported dataset, say: the defaults, and the record says so
        choice = BackboneChoice(
            fingerprint=joint.fingerprint, dataset=data.dataset, source=joint.source.scene,
            target=joint.target.scene, configs={},
            backbone={"warm": "ease", "cold": "ease"},
            validation_users={"warm": 0, "cold": 0},
            decided_by=f"not validated: no validation-split user has >= 5 items in both {source} and {target}; "
                       "EASE with its default lambdas",
            fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        save_choice(data, joint, choice)
        return choice
    total = len(_grid(EASE_GRID)) + len(_grid(IALS_GRID)) + 1
    with tqdm(total=total, desc=f"fitting the backbone ({source} -> {target})", unit="fit",
              disable=not progress) as bar:
        sweep = (_sweep("ease", _grid(EASE_GRID), _ease_scorer(joint), cases, bar)
                 + _sweep("ials", [{**IALS_DEFAULTS, **point} for point in _grid(IALS_GRID)],
                          _ials_scorer(data, joint), cases, bar))
        configs = {model: {w: _best(sweep, model, w).config for w in WARMTHS} for model in BACKBONE_MODELS}
        backbone = {w: max(BACKBONE_MODELS, key=lambda m: _best(sweep, m, w).criterion) for w in WARMTHS}
        choice = BackboneChoice(
            fingerprint=joint.fingerprint, dataset=data.dataset, source=joint.source.scene,
            target=joint.target.scene, configs=configs, backbone=backbone,
            sweep=sweep,
            validation_users={w: len(cases[w]) for w in WARMTHS},
            fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        previous = read_choice(data, joint)
        save_choice(data, joint, choice)  # the generators read it: record before scoring with them
        _warm_up(data, choice, cases)
        rankers = _ranker_scores(data, cases)
        update = {"rankers": rankers, "default_ranker": max(rankers, key=lambda name: rankers[name].mean),
                  "decided_by": "mean over warm and cold validation users of the mean NDCG@10 over uniform, "
                                "popular and full-catalogue candidates"}
        if previous is not None and (previous.configs, previous.backbone) == (configs, backbone):
            # The same backbone as before: what fit-hybrid measured against it still holds.
            update["rankers"] = {**previous.rankers, **rankers}
            if previous.default_ranker not in NON_LLM_RANKERS:
                update |= {"default_ranker": previous.default_ranker, "decided_by": previous.decided_by}
        # (Against another backbone, a hybrid must compete again: fit-hybrid.)
        choice = choice.model_copy(update=update)
        save_choice(data, joint, choice)
        bar.update(1)
    return choice


_selecting = threading.Lock()


def ensure_backbone(data: SceneData, source: str, target: str, *, progress: bool = True) -> BackboneChoice:
    """The recorded choice for the pair, made now (with a progress bar) if the store has none;
    callers that arrive meanwhile wait for that one sweep instead of starting their own."""
    joint = joint_matrix(data, source, target)
    choice = read_choice(data, joint)
    if choice is not None:
        return choice
    with _selecting:
        return read_choice(data, joint) or select_backbone(data, source, target, progress=progress)


def record_ranker(data: SceneData, source: str, target: str, name: str, score: RankerScore,
                  incumbent: RankerScore) -> BackboneChoice:
    """A challenger (the fitted hybrid, say) measured against the backbone on the same validation
    cases (``incumbent``): it becomes the default only if it scores higher there for warm and for
    cold users alike (one default serves both)."""
    joint = joint_matrix(data, source, target)
    choice = ensure_backbone(data, source, target)
    update: dict = {"rankers": {**choice.rankers, name: score}}
    wins = all(mine is not None and theirs is not None and mine > theirs
               for mine, theirs in ((score.warm, incumbent.warm), (score.cold, incumbent.cold)))
    if wins:
        update |= {"default_ranker": name,
                   "decided_by": f"{name} {score.mean:.4f} against backbone {incumbent.mean:.4f}, warm "
                                 f"{score.warm:.4f} vs {incumbent.warm:.4f}, cold {score.cold:.4f} vs "
                                 f"{incumbent.cold:.4f} ({score.measure})"}
    elif choice.default_ranker == name:  # a refit that no longer wins hands the default back
        update |= {"default_ranker": max(NON_LLM_RANKERS, key=lambda n: choice.rankers[n].mean),
                   "decided_by": f"{name} {score.mean:.4f} did not beat backbone {incumbent.mean:.4f} for warm "
                                 f"and cold users ({score.measure})"}
    choice = choice.model_copy(update=update)
    save_choice(data, joint, choice)
    return choice
