"""Fit the hybrid ranker's fusion weights on validation users.

Leave-last-out on users of the ``validation`` split only (agent/cases/splits.py): each user's last
target item is held out among seeded random negatives; the candidate generators and the LLM
verbalizer score the candidates; a coordinate grid search picks the weights that maximise mean
NDCG@10. ``scenebridge fit-hybrid`` saves the result next to the store, where ``--ranker hybrid``
finds it. Whether the hybrid then becomes the default ranker is decided out of sample: weights
fitted on one half of the validation users are scored on the other half (and the other way
round), against the backbone alone on the same users.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from agent.candidates import RankerScore, load_scene_data
from agent.cases import active_users, leave_last_out_cases, users_in
from agent.fusion import DEFAULT_WEIGHTS, LLM, FitExample, FusionWeights, fit_weights, mean_ndcg
from agent.rankers import make_ranker
from agent.selection import ensure_backbone, record_ranker
from agent.service import Service


async def collect_examples(service: Service, *, users: int, seed: int, cold: bool, permutations: int,
                           progress: bool = True, sampling: str = "uniform") -> list[FitExample]:
    retriever = service.retriever
    data = load_scene_data(retriever)
    source, target = data.source, data.target
    ensure_backbone(data, source, target, progress=progress)
    pool = users_in(active_users(data, source, target), "validation")
    cases = leave_last_out_cases(data, source=source, target=target, users=users, seed=seed, cold=cold,
                                 pool=pool, sampling=sampling)
    ranker = make_ranker("verbalizer", service.llm, permutations=permutations, seed=seed) if service.llm else None
    examples = []
    for case in tqdm(cases, desc="scoring validation users", unit="user", disable=not progress):
        # Candidates in the case's seeded shuffled order: position bias must not pass for skill.
        request = service.case_request(data, case)
        components = dict(request.generator_scores)
        if ranker is not None:
            ranking = await ranker.rank(request)
            if ranking.fallback is None:
                components[LLM] = ranking.scores
        examples.append(FitExample(user=case.user_id, ids=request.ids, held_out=case.held_out,
                                   components=components))
    return examples


def cross_validated(examples: list[FitExample], kinds: list[str]) -> dict[str, float]:
    """Per kind of user, the mean NDCG@10 of weights fitted on one half of the users and scored on
    the other half (2 folds; all of a user's cases fall in one half, which holds both kinds)."""
    users = sorted({e.user or str(n) for n, e in enumerate(examples)})
    half = {user: n % 2 for n, user in enumerate(users)}
    folds = [[n for n, e in enumerate(examples) if half[e.user or str(n)] == h] for h in (0, 1)]
    scores: dict[str, list[float]] = {kind: [] for kind in set(kinds)}
    for fit_on, score_on in (folds, folds[::-1]):
        if not fit_on or not score_on:
            continue
        weights, _ = fit_weights([examples[n] for n in fit_on])
        for n in score_on:
            scores[kinds[n]].append(mean_ndcg([examples[n]], weights))
    return {kind: float(np.mean(values)) for kind, values in scores.items() if values}


async def fit(service: Service, *, users: int = 100, seed: int = 0, cold: bool | None = None,
              permutations: int = 1, progress: bool = True,
              samplings: tuple[str, ...] = ("uniform", "popular")) -> FusionWeights:
    """One set of weights for warm and cold users alike (``cold=None``; True or False: one kind),
    fitted on cases with uniform and with popularity-weighted negatives: weights fitted on uniform
    negatives alone lean on popularity, which the harder negatives punish."""
    kinds = ["warm", "cold"] if cold is None else ["cold" if cold else "warm"]
    examples, labels = [], []
    for kind in kinds:
        for sampling in samplings:
            more = await collect_examples(service, users=users, seed=seed, cold=kind == "cold",
                                          permutations=permutations, progress=progress, sampling=sampling)
            examples += more
            labels += [kind] * len(more)
    weights, best = fit_weights(examples)
    components = sorted({n for e in examples for n in e.components})

    def by_kind(weights_: dict[str, float]) -> dict[str, float]:
        return {kind: round(mean_ndcg([e for e, k in zip(examples, labels, strict=True) if k == kind], weights_), 4)
                for kind in kinds}

    weights_out = FusionWeights(weights=weights, fitted=True, fitted_on={
        "split": "validation", "users": len(examples), "seed": seed, "protocol": "+".join(kinds),
        "negatives": "+".join(samplings),
        "permutations": permutations, "model": service.llm.model if service.llm else None,
        "ndcg@10": round(best, 4),
        "ndcg@10_default_weights": round(mean_ndcg(examples, DEFAULT_WEIGHTS), 4),
        "ndcg@10_alone": {k: round(mean_ndcg(examples, {k: 1.0}), 4) for k in components},
        "ndcg@10_by_kind": by_kind(weights),
        "ndcg@10_backbone_by_kind": by_kind({"backbone": 1.0}),
        "ndcg@10_cross_validated": {k: round(v, 4) for k, v in cross_validated(examples, labels).items()},
        "llm_answered": int(np.sum([LLM in e.components for e in examples])),
    })
    return weights_out


def record_default(service: Service, weights: FusionWeights):
    """Put the fitted hybrid up against the backbone for the default ranker, out of sample: the
    hybrid's weights fitted on the other half of the validation users, the backbone alone, on the
    same users, warm and cold."""
    data = load_scene_data(service.retriever)
    info = weights.fitted_on
    measure = (f"NDCG@10 on {info['users']} validation cases ({info['protocol']}, 19 "
               f"{info.get('negatives', 'uniform').replace('+', ' or ')} negatives); hybrid weights fitted on the "
               "other half")
    challenger = RankerScore(**info["ndcg@10_cross_validated"], measure=measure)
    incumbent = RankerScore(**info["ndcg@10_backbone_by_kind"], measure=measure)
    return record_ranker(data, data.source, data.target, "hybrid", challenger, incumbent)
