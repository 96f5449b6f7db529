"""Explanation quality: checks of our own, and ragas metrics through a judge model.

- citation validity: every evidence id an explanation carries is in the user's source history;
- fact validity: every year and genre the text states is a fact of the item or of a cited item;
- ragas ``Faithfulness`` (claims supported by the item facts and the evidence) and
  ``AnswerRelevancy`` (the explanation answers "why this item for this user"), judged by an
  OpenAI-compatible model (default: the local server; ``--judge-url`` for a bigger one), with
  MiniLM embeddings offline and telemetry off. A report says which judge produced which numbers.
  The judge answers under vLLM's JSON-schema constrained decoding (instructor ``JSON_SCHEMA``
  mode): in ragas' default JSON mode gemma-3-270m wrote JSON of the wrong shape every time;
  constrained, it scores AnswerRelevancy but still loops in Faithfulness' statement list until
  max_tokens. Each metric the judge could not score records why (``judge_errors``);
- ragas ``StringPresence`` (offline, no judge): does the text name the items it cites?
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from typing import Any

import numpy as np
from pydantic import BaseModel

from agent.explain import ItemEvidence
from core.domain import Item
from core.titles import shown_title
from retrievers import item_document

_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")


class ExplanationCheck(BaseModel):
    item_id: str
    text: str
    source: str | None
    citations_valid: bool
    facts_valid: bool
    unsupported: list[str] = []
    faithfulness: float | None = None
    answer_relevancy: float | None = None
    judge_errors: dict[str, str] = {}  # metric -> why the judge produced no score
    evidence_named: float | None = None  # ragas StringPresence, mean over the cited items


def stated_facts(text: str, genres: list[str]) -> tuple[set[int], set[str]]:
    years = {int(y) for y in _YEAR.findall(text)}
    lowered = text.lower()
    named = {g for g in genres if re.search(rf"\b{re.escape(g.lower())}\b", lowered)}
    return years, named


def check(item: Item, text: str, evidence: list[Item], history: set[str], vocabulary: list[str],
          source: str | None) -> ExplanationCheck:
    # Titles are names, not claims: "Mystery Men" states no genre, "2001: A Space Odyssey" no year.
    claims = text
    for title in sorted({i.title for i in (item, *evidence)}, key=len, reverse=True):
        claims = claims.replace(title, " ")
    years, genres = stated_facts(claims, vocabulary)
    known_years = {i.year for i in (item, *evidence) if i.year}
    known_genres = {g for i in (item, *evidence) for g in i.genres}
    unsupported = [str(y) for y in years - known_years] + sorted(genres - known_genres)
    return ExplanationCheck(
        item_id=item.item_id, text=text, source=source,
        citations_valid={e.item_id for e in evidence} <= history,
        facts_valid=not unsupported, unsupported=unsupported,
    )


def facts_text(item: Item) -> str:
    """An item's facts as the judge reads them: the text the store embeds for it."""
    return item_document(item)


def minilm_ragas_embedding():
    """ragas' embedding interface over the offline MiniLM model (ragas is imported only when a
    judge is built)."""
    from ragas.embeddings.base import BaseRagasEmbedding

    from retrievers import embed_texts

    class _Embedding(BaseRagasEmbedding):
        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return embed_texts([text])[0].tolist()

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return embed_texts(list(texts)).tolist()

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    return _Embedding()


def judge_failure(exc: BaseException) -> str:
    """A short, countable reason for a metric the judge could not score."""
    from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
    from openai import APIConnectionError, APITimeoutError

    if isinstance(exc, (asyncio.TimeoutError, APITimeoutError)):
        return "timeout"
    if isinstance(exc, IncompleteOutputException):
        return "answer cut at max_tokens (the judge looped)"
    if isinstance(exc, InstructorRetryException):
        return "answer did not fit the metric's schema"
    if isinstance(exc, APIConnectionError):
        return "judge unreachable"
    return type(exc).__name__


async def evidence_named(text: str, evidence_titles: list[str]) -> float | None:
    """ragas StringPresence over the cited items' titles (None when nothing is cited)."""
    from ragas.metrics.collections import StringPresence

    if not evidence_titles:
        return None
    metric = StringPresence()
    scores = [(await metric.ascore(reference=title, response=text)).value for title in evidence_titles]
    return float(np.mean(scores))


class RagasJudge:
    """Faithfulness and AnswerRelevancy through an OpenAI-compatible judge (JSON-schema mode)."""

    def __init__(self, base_url: str, model: str, *, timeout_s: float = 60.0, max_tokens: int = 512):
        os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
        import instructor
        from openai import AsyncOpenAI
        from ragas.llms.base import InstructorLLM, InstructorModelArgs
        from ragas.metrics.collections import AnswerRelevancy, Faithfulness

        self.base_url, self.model = base_url, model
        self.timeout_s = timeout_s
        client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=timeout_s, max_retries=0)
        # llm_factory hard-wires instructor's JSON mode for OpenAI clients; JSON_SCHEMA sends the
        # response model as response_format, which vLLM enforces while decoding.
        llm = InstructorLLM(client=instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA),
                            model=model, provider="openai",
                            model_args=InstructorModelArgs(max_tokens=max_tokens, temperature=0.0))
        self.metrics = {"faithfulness": Faithfulness(llm=llm),
                        "answer_relevancy": AnswerRelevancy(llm=llm, embeddings=minilm_ragas_embedding(),
                                                            strictness=2)}

    async def score(self, verdict: ExplanationCheck, question: str, contexts: list[str]) -> None:
        """Set the verdict's faithfulness and answer relevancy, or record why each is missing."""
        scores, errors = await self.judge(verdict.text, question, contexts)
        for name, value in scores.items():
            setattr(verdict, name, value)
        verdict.judge_errors.update(errors)

    async def judge(self, text: str, question: str, contexts: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        """(the scores the judge gave, why it gave none for the others)."""
        extra = {"faithfulness": {"retrieved_contexts": contexts}, "answer_relevancy": {}}
        scores, errors = {}, {}
        for name, metric in self.metrics.items():
            try:
                # A bound per metric: instructor retries a bad answer, each try up to timeout_s.
                result = await asyncio.wait_for(metric.ascore(user_input=question, response=text, **extra[name]),
                                                timeout=3 * self.timeout_s)
                value = float(result.value)
            except Exception as exc:  # noqa: BLE001 - a small judge often fails; counted, not fatal
                errors[name] = judge_failure(exc)
                continue
            if np.isnan(value):
                errors[name] = "no score (nan)"
            else:
                scores[name] = value
        return scores, errors


def evidence_facts(evidence: ItemEvidence) -> list[str]:
    """The facts an explanation was written from, one statement each: what Faithfulness holds it
    to (the item's own facts, each contributor's rating and count). The items' documents alone
    hold none of the counts or ratings an explanation states."""
    item, loved = shown_title(evidence.item), f"{evidence.loved:g} or more"
    facts = [f"{item} is a film of these genres: {', '.join(evidence.item.genres) or 'none listed'}.",
             f"{evidence.lovers} of the {evidence.raters} other people who rated {item} rated it {loved}."]
    for c in evidence.contributors:
        mine = shown_title(c.item)
        facts.append(f"The user rated {mine} {c.rating:g}." if c.rating is not None
                     else f"The user said they liked {mine}.")
        facts.append(f"{c.lovers_with} of the {c.lovers} other people who rated {mine} {loved} also rated "
                     f"{item} {loved}.")
    return facts


def summarize(checks: list[ExplanationCheck], judge: RagasJudge | None) -> dict:
    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    return {
        "explanations": len(checks),
        "explanation_citation_validity": mean([c.citations_valid for c in checks]),
        "explanation_fact_validity": mean([c.facts_valid for c in checks]),
        "explanation_llm_worded_rate": mean([c.source == "llm" for c in checks]),
        "ragas_faithfulness": mean([c.faithfulness for c in checks]),
        "ragas_answer_relevancy": mean([c.answer_relevancy for c in checks]),
        "ragas_judged": sum(c.faithfulness is not None or c.answer_relevancy is not None for c in checks),
        "ragas_judge_errors": dict(Counter(f"{metric}: {why}" for c in checks
                                           for metric, why in c.judge_errors.items())),
        "ragas_evidence_named": mean([c.evidence_named for c in checks]),
        "judge": {"url": judge.base_url, "model": judge.model} if judge else None,
    }
