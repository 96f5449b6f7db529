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
                           progress: bool = True) -> list[FitExample]:
    retriever = service.retriever
    data = load_scene_data(retriever)
    source, target = data.source, data.target
    ensure_backbone(data, source, target, progress=progress)
    pool = users_in(active_users(data, source, target), "validation")
    cases = leave_last_out_cases(data, source=source, target=target, users=users, seed=seed, cold=cold,
                                 pool=pool)
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
        examples.append(FitExample(ids=request.ids, held_out=case.held_out, components=components))
    return examples


def cross_validated(examples: list[FitExample]) -> float:
    """Mean NDCG@10 of weights fitted on one half of the users and scored on the other (2 folds)."""
    halves = (examples[0::2], examples[1::2])
    scores = []
    for fit_on, score_on in (halves, halves[::-1]):
        if fit_on and score_on:
            weights, _ = fit_weights(fit_on)
            scores += [mean_ndcg(score_on, weights)] * len(score_on)
    return float(np.mean(scores)) if scores else 0.0


async def fit(service: Service, *, users: int = 100, seed: int = 0, cold: bool = False,
              permutations: int = 1, progress: bool = True) -> FusionWeights:
    examples = await collect_examples(service, users=users, seed=seed, cold=cold,
                                      permutations=permutations, progress=progress)
    weights, best = fit_weights(examples)
    components = sorted({n for e in examples for n in e.components})
    alone = {name: mean_ndcg(examples, {name: 1.0}) for name in components}
    weights_out = FusionWeights(weights=weights, fitted=True, fitted_on={
        "split": "validation", "users": len(examples), "seed": seed, "protocol": "cold" if cold else "warm",
        "permutations": permutations, "model": service.llm.model if service.llm else None,
        "ndcg@10": round(best, 4),
        "ndcg@10_default_weights": round(mean_ndcg(examples, DEFAULT_WEIGHTS), 4),
        "ndcg@10_alone": {k: round(v, 4) for k, v in alone.items()},
        "ndcg@10_cross_validated": round(cross_validated(examples), 4),
        "llm_answered": int(np.sum([LLM in e.components for e in examples])),
    })
    return weights_out


def record_default(service: Service, weights: FusionWeights):
    """Put the fitted hybrid up against the backbone for the default ranker, out of sample."""
    data = load_scene_data(service.retriever)
    info = weights.fitted_on
    warmth = info["protocol"]
    measure = (f"NDCG@10 on {info['users']} validation users ({warmth}, 19 uniform negatives), hybrid weights "
               "fitted on the other half")
    challenger = RankerScore(**{warmth: info["ndcg@10_cross_validated"]}, measure=measure)
    incumbent = RankerScore(**{warmth: info["ndcg@10_alone"].get("backbone", 0.0)}, measure=measure)
    return record_ranker(data, data.source, data.target, "hybrid", challenger, incumbent)
