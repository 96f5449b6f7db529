"""``generate_candidates`` and ``score_candidates``: every generator scores the whole target scene
once (a few vectorised sparse products), then candidates are picked and read off those vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from agent.candidates.attribution import Attributing, Attribution
from agent.candidates.base import CandidateGenerator
from agent.candidates.candidate_set import Candidate, CandidateSet, ScoreStats
from agent.candidates.evidence import Query, UserEvidence, resolve
from agent.candidates.registry import make_generator
from agent.candidates.scene_data import SceneData
from core.errors import ScenebridgeError

DEFAULT_GENERATORS = ("popularity", "itemknn", "cross_cooc", "embedding", "ease", "ials", "backbone")
GeneratorSpec = str | CandidateGenerator | dict[str, Any]


def _generators(specs: Sequence[GeneratorSpec]) -> list[CandidateGenerator]:
    generators = [make_generator(spec) for spec in specs]
    if not generators:
        raise ScenebridgeError("no candidate generator given", hint=f"use some of {DEFAULT_GENERATORS}",
                               param="generators")
    names = [g.name for g in generators]
    if len(set(names)) != len(names):
        raise ScenebridgeError(f"a generator is named twice in {names}", hint="name each once",
                               param="generators")
    return generators


def score_matrix(data: SceneData, query: Query, generators: Sequence[CandidateGenerator]) -> np.ndarray:
    """generators x target items: each generator's score of every target-scene item."""
    scores = np.empty((len(generators), query.target.n_items), dtype=np.float64)
    for row, generator in enumerate(generators):
        scores[row] = generator.score(data, query)
    return scores


def _unseen(query: Query) -> np.ndarray:
    """Target items outside the user's target history: where the fusion's z-scores are taken."""
    unseen = np.ones(query.target.n_items, dtype=bool)
    unseen[query.target_items] = False
    return unseen


def _stats(scores: np.ndarray, unseen: np.ndarray, names: list[str]) -> dict[str, ScoreStats]:
    pool = scores[:, unseen] if unseen.any() else scores
    return {name: ScoreStats(mean=float(pool[n].mean()), std=float(pool[n].std()))
            for n, name in enumerate(names)}


def _candidate_set(query: Query, scores: np.ndarray, columns: np.ndarray, names: list[str],
                   stats: dict[str, ScoreStats]) -> CandidateSet:
    items = [Candidate(item_id=str(query.target.items[c]),
                       scores={name: float(scores[n, c]) for n, name in enumerate(names)})
             for c in columns]
    return CandidateSet(items=items, generators=names, stats=stats)


def generate_candidates(data: SceneData, evidence: UserEvidence, *,
                        generators: Sequence[GeneratorSpec] = DEFAULT_GENERATORS,
                        per_generator: int = 50, limit: int = 100,
                        exclude: Iterable[str] = (),
                        weights: Mapping[str, float] | None = None) -> CandidateSet:
    """The union of each generator's ``per_generator`` best target items (items it scores > 0),
    never an item of the target history or ``exclude`` (ids outside the target scene are ignored
    there); every candidate carries every generator's score; sorted by the score fused with
    ``weights`` (default: 1 for every generator; a weight for a generator not used is ignored)
    and cut to ``limit``."""
    if per_generator < 1 or limit < 1:
        raise ScenebridgeError("per_generator and limit must be at least 1", param="limit")
    query = resolve(data, evidence)
    chosen = _generators(generators)
    names = [g.name for g in chosen]
    scores = score_matrix(data, query, chosen)

    unseen = _unseen(query)
    eligible = unseen.copy()
    eligible[[query.target.item_index[i] for i in exclude if i in query.target.item_index]] = False

    picked = np.zeros(query.target.n_items, dtype=bool)
    for row in scores:
        allowed = np.flatnonzero(eligible & (row > 0))
        k = min(per_generator, len(allowed))
        if k:
            picked[allowed[np.argsort(-row[allowed], kind="stable")[:k]]] = True
    columns = np.flatnonzero(picked)
    candidates = _candidate_set(query, scores, columns, names, _stats(scores, unseen, names))
    if weights is not None:
        weights = {name: w for name, w in weights.items() if name in names}
    return candidates.ranked(weights).top(limit)


def score_candidates(data: SceneData, evidence: UserEvidence, item_ids: Sequence[str], *,
                     generators: Sequence[GeneratorSpec] = DEFAULT_GENERATORS) -> CandidateSet:
    """Every generator's score for the caller's candidates, in the caller's order (duplicates
    dropped). An id that is not an item of the target scene raises NotFoundError naming it."""
    query = resolve(data, evidence)
    chosen = _generators(generators)
    names = [g.name for g in chosen]
    columns = np.array([data.column(query.target, i) for i in dict.fromkeys(item_ids)], dtype=np.int64)
    scores = score_matrix(data, query, chosen)
    return _candidate_set(query, scores, columns, names, _stats(scores, _unseen(query), names))


def attribute(data: SceneData, evidence: UserEvidence, item_ids: Sequence[str], *,
              generator: GeneratorSpec = "backbone", top: int = 3) -> dict[str, Attribution]:
    """Why ``generator`` (a backbone) scored each item: the user's items that made its score."""
    chosen = make_generator(generator)
    if not isinstance(chosen, Attributing):
        raise ScenebridgeError(f"the {chosen.name} generator cannot say which items made its scores",
                               hint="use backbone, ease or ials", param="generator")
    return chosen.attribute(data, resolve(data, evidence), list(item_ids), top=top)
