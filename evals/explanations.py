"""Explanation quality: checks of our own, and ragas metrics through a judge model.

- citation validity: every evidence id an explanation carries is in the user's source history;
- fact validity: every year and genre the text states is a fact of the item or of a cited item;
- ragas ``Faithfulness`` (claims supported by the item facts and the evidence) and
  ``AnswerRelevancy`` (the explanation answers "why this item for this user"), judged by an
  OpenAI-compatible model (default: the local server; ``--judge-url`` for a bigger one), with
  MiniLM embeddings offline and telemetry off. A report says which judge produced which numbers.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import numpy as np
from pydantic import BaseModel

from scenebridge.domain import Item

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


def stated_facts(text: str, genres: list[str]) -> tuple[set[int], set[str]]:
    years = {int(y) for y in _YEAR.findall(text)}
    lowered = text.lower()
    named = {g for g in genres if re.search(rf"\b{re.escape(g.lower())}\b", lowered)}
    return years, named


def check(item: Item, text: str, evidence: list[Item], history: set[str], vocabulary: list[str],
          source: str | None) -> ExplanationCheck:
    years, genres = stated_facts(text, vocabulary)
    known_years = {i.year for i in (item, *evidence) if i.year}
    known_genres = {g for i in (item, *evidence) for g in i.genres}
    unsupported = [str(y) for y in years - known_years] + sorted(genres - known_genres)
    return ExplanationCheck(
        item_id=item.item_id, text=text, source=source,
        citations_valid={e.item_id for e in evidence} <= history,
        facts_valid=not unsupported, unsupported=unsupported,
    )


def facts_text(item: Item) -> str:
    parts = [f"{item.title} ({item.year})" if item.year else item.title]
    if item.genres:
        parts.append("Genres: " + ", ".join(item.genres) + ".")
    if item.text:
        parts.append(item.text)
    return " ".join(parts)


class MiniLMRagasEmbedding:
    """ragas' embedding interface over the offline MiniLM model."""

    def __new__(cls):
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


class RagasJudge:
    """Faithfulness and AnswerRelevancy through an OpenAI-compatible judge (JSON mode)."""

    def __init__(self, base_url: str, model: str, *, timeout_s: float = 60.0):
        os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
        from openai import AsyncOpenAI
        from ragas.llms.base import llm_factory
        from ragas.metrics.collections import AnswerRelevancy, Faithfulness

        self.base_url, self.model = base_url, model
        self.timeout_s = timeout_s
        client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=timeout_s, max_retries=0)
        llm = llm_factory(model, client=client, max_tokens=384, temperature=0.0)
        self.faithfulness = Faithfulness(llm=llm)
        self.relevancy = AnswerRelevancy(llm=llm, embeddings=MiniLMRagasEmbedding(), strictness=2)

    async def score(self, question: str, answer: str, contexts: list[str]) -> tuple[float | None, float | None]:
        """(faithfulness, answer relevancy); None for a metric the judge could not produce."""
        results = []
        for metric, kwargs in ((self.faithfulness, {"retrieved_contexts": contexts}), (self.relevancy, {})):
            try:
                # A bound per metric: a small judge can loop on invalid JSON (instructor retries).
                result = await asyncio.wait_for(
                    metric.ascore(user_input=question, response=answer, **kwargs), timeout=3 * self.timeout_s)
                value = float(result.value)
                results.append(None if np.isnan(value) else value)
            except Exception:  # noqa: BLE001 - a small judge often fails the JSON; counted, not fatal
                results.append(None)
        return results[0], results[1]


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
        "ragas_judged": sum(c.faithfulness is not None for c in checks),
        "judge": {"url": judge.base_url, "model": judge.model} if judge else None,
    }
