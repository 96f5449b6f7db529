"""The evidence sentence: one item's evidence in words, through prompts/templates/explanation_evidence.jinja.

Each sentence states only facts of its evidence (titles with their years, the person's ratings,
the counts, genres both films have), so it passes the checks (agent/explain/checks.py) by
construction. Within one answer the sentences differ in what leads: the contributor (chosen per
answer, ``ItemEvidence.lead``) and the fact (the item's place picks a shape from ``SHAPES``; a
shape whose fact is missing passes to the next).
"""

from __future__ import annotations

from agent.explain.evidence import Contributor, ItemEvidence
from core.titles import shown_title
from prompts import render

TEMPLATE = "explanation_evidence"
SHAPES = ("count", "rating", "genre", "share", "item")


def _number(value: float) -> str:
    return f"{value:g}"


def _count(value: int) -> str:
    """With a thousands comma: the checks read 1800-2099 without one as a year."""
    return f"{value:,}"


def contributor_view(c: Contributor) -> dict:
    """A contributor as templates write it."""
    return {"item_id": c.item.item_id, "title": shown_title(c.item), "genres": list(c.item.genres),
            "rating": None if c.rating is None else _number(c.rating), "lovers": _count(c.lovers),
            "lovers_with": _count(c.lovers_with), "counted": c.lovers_with > 0, "share": round(100 * c.share)}


def loved_phrase(evidence: ItemEvidence) -> str:
    """What "loved" is, in the scale's words: "4 or 5" on MovieLens."""
    top = evidence.top_rating
    if top == evidence.loved + 1:
        return f"{_number(evidence.loved)} or {_number(top)}"
    return f"{_number(evidence.loved)} or more"


def _genre(evidence: ItemEvidence, lead: Contributor | None) -> tuple[str, Contributor] | None:
    """A genre the item shares with one of its contributors, the lead's first."""
    ordered = ([lead] if lead else []) + [c for c in evidence.contributors if c is not lead]
    for c in ordered:
        for genre in evidence.item.genres:
            if genre in c.item.genres:
                return genre, c
    return None


def _genre_noun(genre: str) -> str:
    """"drama film", "sci-fi film"; "film noir" is one already."""
    return "film noir" if genre.lower() == "film-noir" else f"{genre.lower()} film"


def _shape(evidence: ItemEvidence, lead: Contributor | None, genre: object) -> str:
    if lead is None:
        return "popular" if evidence.lovers else "plain"
    usable = {"count": lead.lovers_with > 0, "rating": True, "genre": genre is not None,
              "share": 1 <= round(100 * lead.share) < 100, "item": lead.lovers_with > 0}
    start = evidence.place % len(SHAPES)
    return next(s for s in SHAPES[start:] + SHAPES[:start] if usable[s])


def sentence_context(evidence: ItemEvidence) -> dict:
    """What the template reads: shown titles and formatted numbers, and the shape to use."""
    lead = evidence.contributors[evidence.lead] if evidence.contributors else None
    others = [c for c in evidence.contributors if c is not lead]
    genre = _genre(evidence, lead)
    return {
        "shape": _shape(evidence, lead, genre),
        "title": shown_title(evidence.item),
        "lead": contributor_view(lead) if lead else None,
        "other": contributor_view(others[0]) if others else None,
        "genre": {"noun": _genre_noun(genre[0]), "article": "an" if genre[0][0].lower() in "aeiou" else "a",
                  "with": contributor_view(genre[1])} if genre else None,
        "loved": loved_phrase(evidence),
        "raters": _count(evidence.raters),
        "lovers": _count(evidence.lovers),
    }


def evidence_sentence(evidence: ItemEvidence) -> str:
    return " ".join(render(TEMPLATE, **sentence_context(evidence)).text.split())
