"""Candidate generators of the ranking agent.

Every user history of a dataset is loaded once from the store into sparse matrices
(``load_scene_data``); a person is described by ``UserEvidence`` (a stored user, or liked items
only); each generator scores the whole target scene, and ``generate_candidates`` returns the union
of their best items, each scored by every generator, sorted by a fused score. Built-in generators:
``popularity``, ``itemknn`` (target-scene co-occurrence), ``cross_cooc`` (cross-scene
co-occurrence) and ``embedding`` (source taste vs target items, MiniLM). A known user's own
interactions never count in the scores (honest leave-one-out evaluation).
"""

# The built-in generators register themselves on import, as an extension would.
from agent.candidates import cross_cooc as _cross_cooc  # noqa: F401
from agent.candidates import embedding as _embedding  # noqa: F401
from agent.candidates import itemknn as _itemknn  # noqa: F401
from agent.candidates import popularity as _popularity  # noqa: F401
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.candidate_set import Candidate, CandidateSet, ScoreStats
from agent.candidates.evidence import RatedItem, UserEvidence, user_evidence
from agent.candidates.generate import DEFAULT_GENERATORS, generate_candidates, score_candidates
from agent.candidates.registry import generator_names, make_generator, register_generator
from agent.candidates.scene_data import SceneData, SceneMatrix, load_scene_data

__all__ = [
    "DEFAULT_GENERATORS",
    "Candidate",
    "CandidateGenerator",
    "CandidateSet",
    "GeneratorConfig",
    "RatedItem",
    "SceneData",
    "SceneMatrix",
    "ScoreStats",
    "UserEvidence",
    "generate_candidates",
    "generator_names",
    "load_scene_data",
    "make_generator",
    "register_generator",
    "score_candidates",
    "user_evidence",
]
