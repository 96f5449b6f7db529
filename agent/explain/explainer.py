"""The explainer: the evidence sentence, or the model's wording where it passes the checks.

The evidence of an item (agent/explain/evidence.py) is chosen before any model is asked: the
backbone's attributions, the person's ratings, the counts. Without a model the evidence sentence
(agent/explain/sentence.py) is the explanation. With one, the model words the same evidence under
a JSON schema whose citations are an enum of the evidence's ids; its sentence is used only when it
passes every check (agent/explain/checks.py: citations, numbers, years and genres); otherwise the
evidence sentence stands in and ``error`` says why.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from agent.explain.checks import check_explanation
from agent.explain.evidence import ItemEvidence
from agent.explain.sentence import contributor_view, evidence_sentence, loved_phrase
from agent.llm import LLMBackend, LLMBadOutput, LLMError
from core.titles import shown_title, title_words
from prompts import render

MIN_WORDS = 6
ECHO_WORDS = 3


def explanation_schema(cited: list[str]) -> dict:
    """The answer's JSON schema: a sentence, and citations only among the evidence's ids."""
    cites = {"type": "array", "items": {"type": "string", "enum": cited}, "maxItems": min(3, len(cited))} \
        if cited else {"type": "array", "maxItems": 0}
    return {
        "type": "object",
        "properties": {"sentence": {"type": "string", "maxLength": 280}, "cites": cites},
        "required": ["sentence", "cites"],
        "additionalProperties": False,
    }


class Explanation(BaseModel):
    text: str
    evidence: list[str] = Field(description="Ids of the person's items the explanation rests on.")
    dropped_citations: int = Field(default=0, description="Cited ids not in the person's history (the "
                                   "model's sentence was rejected for them).")
    source: str = Field(description="'llm' when the model worded it, 'evidence' for the evidence sentence.")
    error: str | None = None


class Worded(BaseModel):
    """The model's answer, parsed but not yet checked."""

    sentence: str
    cites: list[str]


class Explainer:
    def __init__(self, llm: LLMBackend | None, *, template: str = "explanation", max_tokens: int = 72):
        self.llm = llm
        self.template = template
        self.max_tokens = max_tokens

    async def explain(self, evidence: ItemEvidence, history: set[str]) -> Explanation:
        cited = evidence.cited
        if self.llm is None:
            return Explanation(text=evidence_sentence(evidence), evidence=cited, source="evidence")
        dropped = 0
        try:
            worded = await self.word(evidence)
            verdict = check_explanation(worded.sentence, worded.cites, evidence, history)
            dropped = len(worded.cites) - sum(c in history for c in worded.cites)
            if not verdict.passed:
                raise LLMBadOutput(f"the explanation {'; '.join(verdict.problems)}: {worded.sentence[:80]!r}")
        except LLMError as exc:
            return Explanation(text=evidence_sentence(evidence), evidence=cited, source="evidence",
                               dropped_citations=dropped, error=f"{type(exc).__name__}: {exc.message}")
        return Explanation(text=worded.sentence, evidence=list(dict.fromkeys([*cited, *worded.cites]))[:5],
                           source="llm")

    async def word(self, evidence: ItemEvidence) -> Worded:
        """The model's sentence for this evidence (LLMBadOutput when it is no sentence at all)."""
        assert self.llm is not None
        prompt = render(self.template, title=shown_title(evidence.item), item=evidence.item.model_dump(),
                        evidence=[contributor_view(c) for c in evidence.contributors], loved=loved_phrase(evidence))
        completion = await self.llm.complete(prompt.text, max_tokens=self.max_tokens,
                                             json_schema=explanation_schema(evidence.cited))
        worded = _parse(completion.text)
        _check_not_an_echo(worded.sentence, [evidence.item.title, *evidence.item.genres,
                                             *(c.item.title for c in evidence.contributors)])
        return worded


def _check_not_an_echo(sentence: str, names: list[str]) -> None:
    """A small model often answers with a title (or two), maybe with the genres the prompt lists,
    and nothing else: that is no reason."""
    known = {w for name in names for w in title_words(name)}
    if len([w for w in title_words(sentence) if w not in known and not w.isdigit()]) < ECHO_WORDS:
        raise LLMBadOutput(f"the explanation only repeats titles: {sentence[:80]!r}")


def _parse(text: str) -> Worded:
    try:
        data = json.loads(text)
        sentence, cites = " ".join(str(data["sentence"]).split()), [str(c) for c in data["cites"]]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise LLMBadOutput(f"the explanation is not the JSON asked for: {text[:80]!r}") from None
    # A small model often echoes a title or the placeholder: that is no explanation.
    if len(sentence.split()) < MIN_WORDS or "..." in sentence:
        raise LLMBadOutput(f"no usable explanation in {text[:80]!r}")
    return Worded(sentence=sentence, cites=cites)
