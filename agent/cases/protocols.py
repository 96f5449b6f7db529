"""Evaluation protocols: which users, which held-out item, which candidates.

- ``warm``: a user active in both scenes; their last target item (by timestamp) is held out and
  the earlier ones are their target history; the held-out item is ranked among ``negatives``
  seeded target items the user never interacted with (``uniform``, LLMRank-comparable, or
  ``popular``: drawn in proportion to popularity, the harder and fairer test).
- ``cold``: the same, with the whole target history hidden: only source-scene evidence remains.
- ``retrieved``: warm evidence, but the candidates come from the system's own generators, so the
  held-out item may be missing.
- ``full`` and ``full-cold``: what a user experiences: warm (resp. cold) evidence, and every target
  item the user never interacted with is a candidate, the held-out item counted wherever it lands.
The user's id travels with the evidence, so the generators' counts leave their own
interactions out. Cases are seeded: every ranker of a comparison sees the same users, candidates
and candidate order (``Case.order``, shuffled so the held-out item's position carries no signal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from agent.candidates.evidence import RatedItem, UserEvidence
from agent.candidates.generate import generate_candidates
from agent.candidates.scene_data import SceneData
from core.errors import ScenebridgeError

Protocol = Literal["warm", "cold", "retrieved", "full", "full-cold"]
Sampling = Literal["uniform", "popular"]
PROTOCOLS: tuple[str, ...] = ("warm", "cold", "retrieved", "full", "full-cold")
FULL_PROTOCOLS: tuple[str, ...] = ("full", "full-cold")
COLD_PROTOCOLS: tuple[str, ...] = ("cold", "full-cold")


def active_users(data: SceneData, source: str, target: str, minimum: int = 5) -> list[str]:
    """Users with at least ``minimum`` items in both scenes, sorted by id."""
    counts = [np.diff(data.scene(s).matrix.indptr) for s in (source, target)]
    rows = np.flatnonzero((counts[0] >= minimum) & (counts[1] >= minimum))
    return sorted(str(data.users[r]) for r in rows)


@dataclass(frozen=True)
class Case:
    """One evaluated user: their evidence, the held-out item, and the sampled negatives."""

    evidence: UserEvidence
    held_out: str
    negatives: tuple[str, ...]
    order: tuple[str, ...] = ()  # the candidates as shown to a ranker (seeded shuffle)

    @property
    def candidates(self) -> list[str]:
        """Held-out item first (for score-based checks); rankers get ``order``."""
        return [self.held_out, *self.negatives]

    @property
    def user_id(self) -> str:
        return str(self.evidence.user_id)


def leave_last_out_cases(data: SceneData, *, source: str, target: str, users: int = 200,
                         negatives: int = 19, seed: int = 0, cold: bool = False,
                         minimum: int = 5, pool: Sequence[str] | None = None,
                         sampling: Sampling = "uniform") -> list[Case]:
    """The seeded users and candidates of the warm/cold protocol (the same users and negatives for
    both). ``pool`` restricts the users drawn from (e.g. one split of agent/cases/splits.py); default:
    every user active in both scenes."""
    if sampling not in ("uniform", "popular"):
        raise ScenebridgeError(f"unknown negative sampling {sampling!r}", hint="uniform or popular",
                               param="negatives")
    rng = np.random.default_rng(seed)
    pool = sorted(pool) if pool is not None else active_users(data, source, target, minimum)
    if not pool:
        raise ScenebridgeError(f"no user is active in both {source} and {target}", param="users")
    chosen = sorted(rng.choice(pool, size=min(users, len(pool)), replace=False).tolist())
    scene = data.scene(target)
    weights = scene.popularity.astype(float) + 1.0  # +1: an item nobody rated can still be drawn
    cases = []
    for user in chosen:
        history = data.history(user, target)
        seen = np.array([scene.item_index[e.item_id] for e in history], dtype=np.int64)
        unseen = np.setdiff1d(np.arange(scene.n_items), seen)
        p = weights[unseen] / weights[unseen].sum() if sampling == "popular" else None
        picked = rng.choice(unseen, size=min(negatives, len(unseen)), replace=False, p=p)
        sampled = tuple(str(scene.items[c]) for c in picked)
        evidence = UserEvidence(
            user_id=user, source_scene=source, target_scene=target,
            source_items=tuple(RatedItem(item_id=e.item_id, rating=e.rating)
                               for e in data.history(user, source)),
            target_history=() if cold else tuple(e.item_id for e in history[:-1]),
        )
        held_out = history[-1].item_id
        order = tuple(str(i) for i in rng.permutation([held_out, *sampled]))
        cases.append(Case(evidence=evidence, held_out=held_out, negatives=sampled, order=order))
    return cases


def full_catalogue(data: SceneData, cases: list[Case], seed: int) -> list[Case]:
    """The same users, each with every target item they never interacted with as a negative
    (seeded shuffle: ties are broken at random, never by the listed order)."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for case in cases:
        scene = data.scene(case.evidence.target_scene)
        seen = {e.item_id for e in data.history(case.user_id, scene.scene)}
        negatives = tuple(str(i) for i in scene.items if str(i) not in seen)
        order = tuple(str(i) for i in rng.permutation([case.held_out, *negatives]))
        out.append(Case(evidence=case.evidence, held_out=case.held_out, negatives=negatives, order=order))
    return out


def build_cases(data: SceneData, protocol: Protocol, *, source: str, target: str, users: int,
                seed: int = 0, negatives: int = 19, sampling: Sampling = "uniform",
                pool: Sequence[str] | None = None, retrieved: int = 20,
                retrieve_with: dict[str, float] | None = None) -> list[Case]:
    """The cases of one protocol. ``retrieved`` replaces the sampled candidates with the top
    ``retrieved`` items of the generators fused with ``retrieve_with`` (seeded shuffle; the
    held-out item is in them only if the generators found it); the full protocols rank the
    whole unseen target scene."""
    if protocol not in PROTOCOLS:
        raise ScenebridgeError(f"unknown protocol {protocol!r}", hint=f"one of {', '.join(PROTOCOLS)}",
                               param="protocol")
    cases = leave_last_out_cases(data, source=source, target=target, users=users, negatives=negatives,
                                 seed=seed, cold=protocol in COLD_PROTOCOLS, pool=pool, sampling=sampling)
    if protocol in FULL_PROTOCOLS:
        return full_catalogue(data, cases, seed)
    if protocol != "retrieved":
        return cases
    rng = np.random.default_rng(seed + 1)
    out = []
    for case in cases:
        generated = generate_candidates(data, case.evidence, limit=retrieved, weights=retrieve_with).item_ids
        order = tuple(str(i) for i in rng.permutation(generated))
        negatives_ = tuple(i for i in order if i != case.held_out)
        out.append(Case(evidence=case.evidence, held_out=case.held_out, negatives=negatives_, order=order))
    return out
