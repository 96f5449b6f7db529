"""Candidate generators of the ranking agent.

Every user history of a dataset is loaded once from the store into sparse matrices
(``load_scene_data``); a person is described by ``UserEvidence`` (a stored user, or liked items
only); each generator scores the whole target scene, and ``generate_candidates`` returns the union
of their best items, each scored by every generator, sorted by a fused score. Built-in generators:
``popularity``, ``itemknn`` (target-scene co-occurrence), ``cross_cooc`` (cross-scene
co-occurrence), ``embedding`` (source taste vs target items, MiniLM), and the collaborative
backbones fitted on the joint source+target matrix: ``ease``, ``ials`` and ``backbone`` (the one
validation chose), which also say which of the user's items made each score (``attribute``).
A known user's own interactions never count in the scores (honest leave-one-out evaluation).
"""

# The built-in generators register themselves on import, as an extension would.
from agent.candidates import backbone as _backbone  # noqa: F401
from agent.candidates import cross_cooc as _cross_cooc  # noqa: F401
from agent.candidates import ease as _ease  # noqa: F401
from agent.candidates import ials as _ials  # noqa: F401
from agent.candidates import embedding as _embedding  # noqa: F401
from agent.candidates import itemknn as _itemknn  # noqa: F401
from agent.candidates import popularity as _popularity  # noqa: F401
from agent.candidates.attribution import Attributing, Attribution, Contribution
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.choice import (BACKBONE_MODELS, BackboneChoice, RankerScore, SweepRow, read_choice,
                                     recorded_choices, save_choice)
from agent.candidates.candidate_set import Candidate, CandidateSet, ScoreStats
from agent.candidates.evidence import RatedItem, UserEvidence, user_evidence
from agent.candidates.ease import fit_ease
from agent.candidates.generate import DEFAULT_GENERATORS, attribute, generate_candidates, score_candidates
from agent.candidates.ials import fit_ials, fold_of
from agent.candidates.joint import JointMatrix, joint_matrix
from agent.candidates.registry import generator_names, make_generator, register_generator
from agent.candidates.scene_data import SceneData, SceneMatrix, load_scene_data
from agent.candidates.support import CandidateSupport, candidate_support

__all__ = [
    "BACKBONE_MODELS",
    "Attributing",
    "attribute",
    "Attribution",
    "BackboneChoice",
    "Contribution",
    "JointMatrix",
    "RankerScore",
    "SweepRow",
    "fit_ease",
    "fit_ials",
    "fold_of",
    "joint_matrix",
    "read_choice",
    "recorded_choices",
    "save_choice",
    "DEFAULT_GENERATORS",
    "Candidate",
    "CandidateSupport",
    "candidate_support",
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
