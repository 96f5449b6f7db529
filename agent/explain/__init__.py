"""Explanations, evidence first: each recommended item's evidence (the backbone's attributions,
the person's ratings, the counts), a sentence built from it, the checks that every claim of an
explanation is true, and the explainer that uses a model's wording only where it passes them."""

from agent.explain.checks import ExplanationVerdict, check_explanation
from agent.explain.evidence import LOVED, Contributor, ItemEvidence, answer_evidence
from agent.explain.explainer import MIN_WORDS, Explainer, Explanation, Worded, explanation_schema
from agent.explain.sentence import evidence_sentence

__all__ = [
    "LOVED",
    "MIN_WORDS",
    "Contributor",
    "Explainer",
    "Explanation",
    "ExplanationVerdict",
    "ItemEvidence",
    "Worded",
    "answer_evidence",
    "check_explanation",
    "evidence_sentence",
    "explanation_schema",
]
