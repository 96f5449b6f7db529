"""Choices earned on validation users: the backbone model and its hyper-parameters, and the
default ranker (agent/selection/backbone.py), from figures computed like the evaluation's
(agent/selection/validation.py)."""

from agent.selection.backbone import ensure_backbone, record_ranker, select_backbone
from agent.selection.validation import CANDIDATE_PROTOCOLS, ValidationCase, evaluate, validation_cases

__all__ = ["CANDIDATE_PROTOCOLS", "ValidationCase", "ensure_backbone", "evaluate", "record_ranker",
           "select_backbone", "validation_cases"]
