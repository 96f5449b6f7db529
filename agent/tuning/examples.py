"""Training examples for tuning the verbalizer: the exact prompt the ranker renders, and the label
of the item the user really chose next.

Three kinds, so that what is learned in one scene can be measured in another:
- ``warm``: source-scene evidence and the target history; the last target item is the answer;
- ``cold``: source-scene evidence only (target history hidden);
- ``source``: inside the source scene alone — the last source item held out among source items,
  the earlier source items as the history, nothing from the target scene. A model tuned on these
  only has never seen a target-scene ranking.
The true item goes to a uniformly random label, so the label position carries no signal, and
negatives are drawn uniformly or by popularity (``mixed``: half each), so popularity alone does
not solve the task. Each epoch draws fresh negatives and positions (seed + epoch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

from agent.candidates import SceneData, make_generator, user_evidence
from agent.candidates.evidence import resolve
from agent.cases import Case, leave_last_out_cases
from agent.rankers.verbalizer import verbalizer_prompt
from agent.service import Service

Kind = Literal["warm", "cold", "source"]
KINDS: tuple[Kind, ...] = ("warm", "cold", "source")
Negatives = Literal["uniform", "popular", "mixed"]


class TuningExample(BaseModel):
    kind: Kind
    user: str
    scene: str  # the scene ranked
    held_out: str
    candidates: list[str]  # in label order
    answer: int  # the held-out item's label index
    prompt: str


def _cases(data: SceneData, kind: Kind, users: list[str], *, source: str, target: str, seed: int,
           sampling: Literal["uniform", "popular"]) -> list[Case]:
    if not users:
        return []
    if kind == "source":  # the source scene plays the target: its last item is the answer
        return leave_last_out_cases(data, source=target, target=source, users=len(users), seed=seed,
                                    pool=users, sampling=sampling)
    return leave_last_out_cases(data, source=source, target=target, users=len(users), seed=seed,
                                cold=kind == "cold", pool=users, sampling=sampling)


def _at_random_label(case: Case, rng: np.random.Generator) -> tuple[list[str], int]:
    """The candidates with the held-out item moved to a uniformly drawn position."""
    others = [i for i in case.order if i != case.held_out]
    answer = int(rng.integers(len(others) + 1))
    return [*others[:answer], case.held_out, *others[answer:]], answer


def build_examples(service: Service, data: SceneData, users: Iterable[str], *, source: str, target: str,
                   kinds: Iterable[Kind] = KINDS, negatives: Negatives = "mixed", seed: int = 0,
                   template: str = "verbalizer", progress: bool = True) -> list[TuningExample]:
    """One example per user and kind, shuffled (seeded)."""
    users = sorted(users)
    rng = np.random.default_rng(seed)
    plan: list[tuple[Kind, Case]] = []
    for n, kind in enumerate(kinds):
        drawn = [str(u) for u in rng.permutation(users)]
        halves = {"uniform": drawn, "popular": []} if negatives == "uniform" else \
            {"uniform": [], "popular": drawn} if negatives == "popular" else \
            {"uniform": drawn[: len(drawn) // 2], "popular": drawn[len(drawn) // 2:]}
        for sampling, pool in halves.items():
            plan += [(kind, c) for c in _cases(data, kind, pool, source=source, target=target,
                                                seed=seed * 1000 + n, sampling=sampling)]
    examples = []
    for kind, case in tqdm(plan, desc="rendering training prompts", unit="example", disable=not progress):
        ids, answer = _at_random_label(case, rng)
        request = service.case_request(data, replace(case, order=tuple(ids)))
        if kind == "source":  # nothing from the other scene may reach a source-only example
            request = request.model_copy(update={"evidence": []})
        examples.append(TuningExample(kind=kind, user=case.user_id, scene=request.target_scene,
                                      held_out=case.held_out, candidates=ids, answer=answer,
                                      prompt=verbalizer_prompt(request, ids, template)))
    order = rng.permutation(len(examples))
    return [examples[i] for i in order]


CandidateOrder = Literal["backbone", "rotated"]
RERANK_KINDS: tuple[Kind, ...] = ("warm", "cold")


def held_out_points(n_history: int, points: int, minimum: int = 3) -> list[int]:
    """Indices of a user's target history used as held-out points: the last ``points`` ones that
    leave at least ``minimum`` earlier items (the warm history)."""
    return [t for t in range(max(minimum, n_history - points), n_history)]


def build_rerank_examples(service: Service, data: SceneData, users: Iterable[str], *, source: str, target: str,
                          kinds: Iterable[Kind] = RERANK_KINDS, points: int = 2, head: int = 20,
                          order: CandidateOrder = "backbone", seed: int = 0,
                          template: str = "rerank", progress: bool = True) -> list[TuningExample]:
    """Prompt-v2 examples: for each user, each of their last ``points`` target interactions is held
    out in turn (warm: the earlier ones are the history; cold: none is); the candidates are the
    backbone's ``head`` best unseen items, as at serving time, in the backbone's order (or rotated
    at random); a point whose item the backbone did not put in its head teaches no label and is
    skipped (LlamaRec). Leakage-free: the backbone scores a known user from a fit that never saw
    their row (cross-fitted iALS, leave-user-out EASE), and the support leaves their row out."""
    kinds = [k for k in kinds if k in RERANK_KINDS]
    if not kinds:
        raise ValueError(f"rerank examples are {' or '.join(RERANK_KINDS)}")
    rng = np.random.default_rng(seed)
    backbone = make_generator("backbone")
    scene = data.scene(target)
    plan = [(str(u), t, kind) for u in sorted(users)
            for t in held_out_points(len(data.history(str(u), target)), points) for kind in kinds]
    examples = []
    for user, t, kind in tqdm(plan, desc="rendering rerank prompts", unit="point", disable=not progress):
        history = data.history(user, target)
        evidence = user_evidence(data, user, source=source, target=target, cold=kind == "cold")
        if kind == "warm":  # the history before the held-out point only
            evidence = evidence.model_copy(update={"target_history": tuple(e.item_id for e in history[:t])})
        scores = backbone.score(data, resolve(data, evidence))
        scores[[scene.item_index[e.item_id] for e in history if e.item_id != history[t].item_id]] = -np.inf
        best = [str(scene.items[c]) for c in np.argsort(-scores, kind="stable")[:head]]
        held_out = history[t].item_id
        if held_out not in best:
            continue
        case = Case(evidence=evidence, held_out=held_out, negatives=tuple(i for i in best if i != held_out),
                    order=tuple(best))
        request = service.case_request(data, case, support=True)
        shift = int(rng.integers(len(best))) if order == "rotated" else 0
        ids = best[shift:] + best[:shift]
        examples.append(TuningExample(kind=kind, user=user, scene=target, held_out=held_out, candidates=ids,
                                      answer=ids.index(held_out), prompt=verbalizer_prompt(request, ids, template)))
    return [examples[i] for i in rng.permutation(len(examples))]
