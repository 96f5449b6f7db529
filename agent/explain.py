"""Explanations, evidence first.

For each recommended item the evidence is the backbone's attribution: the user's own items that
made its collaborative score, each with its share (agent.candidates ``attribute``), so the ids an
explanation cites are the real reason the item was ranked. The explanation cites those ids and
the item's facts from the store, and the model only words it.
The model may also cite titles of its own: a cited id that is not in the user's history is
dropped and counted. When the model fails, a sentence built from the evidence stands in.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from agent.llm import LLMBackend, LLMBadOutput, LLMError
from core.domain import Item, ScoredItem
from core.titles import display_title, title_words
from prompts import render

MIN_WORDS = 6
EXPLANATION_SCHEMA = {
    "type": "object",
    "properties": {
        "sentence": {"type": "string", "maxLength": 280},
        "cites": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["sentence", "cites"],
    "additionalProperties": False,
}


class Explanation(BaseModel):
    text: str
    evidence: list[str] = Field(description="Ids of the user's items the explanation rests on.")
    dropped_citations: int = Field(default=0, description="Cited ids not in the user's history.")
    source: str = Field(description="'llm' when the model worded it, 'evidence' for the stand-in.")
    error: str | None = None


def evidence_sentence(item: Item, evidence: list[ScoredItem]) -> str:
    """The stand-in: what the evidence says, without a model. ``evidence`` scores are shares of
    the item's collaborative score (0 when unknown)."""
    if not evidence:
        return f"{display_title(item.title)} is popular with people whose tastes overlap yours."
    names = [display_title(e.item.title) for e in evidence[:2]]
    liked = names[0] if len(names) == 1 else f"{names[0]} and {names[1]}"
    share = sum(e.score for e in evidence[:2])
    # "100%" says nothing when these are all the evidence there is (someone who named two films)
    weight = f" ({round(100 * share)}% of what points to it)" if 0 < share < 0.995 else ""
    shared = [g for g in item.genres if any(g in e.item.genres for e in evidence)]
    also = f"; it shares their {', '.join(shared[:2]).lower()} streak" if shared else ""
    return (f"People who watched {liked}, as you did, often watched {display_title(item.title)} too"
            f"{weight}{also}.")


class Explainer:
    def __init__(self, llm: LLMBackend | None, *, template: str = "explanation", max_tokens: int = 72):
        self.llm = llm
        self.template = template
        self.max_tokens = max_tokens

    async def explain(self, item: Item, evidence: list[ScoredItem], history: set[str]) -> Explanation:
        evidence_ids = [e.item.item_id for e in evidence]
        if self.llm is None:
            return Explanation(text=evidence_sentence(item, evidence), evidence=evidence_ids, source="evidence")
        prompt = render(self.template, item=item.model_dump(),
                        evidence=[{"item_id": e.item.item_id} for e in evidence])
        try:
            completion = await self.llm.complete(prompt.text, max_tokens=self.max_tokens,
                                                 json_schema=EXPLANATION_SCHEMA)
            sentence, cites = _parse(completion.text)
            _check_not_an_echo(sentence, [item.title, *(e.item.title for e in evidence)])
        except LLMError as exc:
            return Explanation(text=evidence_sentence(item, evidence), evidence=evidence_ids,
                               source="evidence", error=f"{type(exc).__name__}: {exc.message}")
        valid = [c for c in cites if c in history]
        return Explanation(
            text=sentence, evidence=list(dict.fromkeys([*evidence_ids, *valid]))[:5],
            dropped_citations=len(cites) - len(valid), source="llm",
        )


ECHO_WORDS = 3


def _check_not_an_echo(sentence: str, titles: list[str]) -> None:
    """A small model often answers with a title (or two) and nothing else: that is no reason."""
    known = {w for title in titles for w in title_words(title)}
    if len([w for w in title_words(sentence) if w not in known and not w.isdigit()]) < ECHO_WORDS:
        raise LLMBadOutput(f"the explanation only repeats titles: {sentence[:80]!r}")


def _parse(text: str) -> tuple[str, list[str]]:
    try:
        data = json.loads(text)
        sentence, cites = " ".join(str(data["sentence"]).split()), [str(c) for c in data["cites"]]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise LLMBadOutput(f"the explanation is not the JSON asked for: {text[:80]!r}") from None
    # A small model often echoes a title or the placeholder: that is no explanation.
    if len(sentence.split()) < MIN_WORDS or "..." in sentence:
        raise LLMBadOutput(f"no usable explanation in {text[:80]!r}")
    return sentence, cites
