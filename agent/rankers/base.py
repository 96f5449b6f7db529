"""The ranker contract: every ranking method, LLM or not, takes a ``RankingRequest`` and returns
a ``Ranking``. A ranker never raises on a bad model answer: it falls back to the candidate
scores and says why in ``fallback``."""

from __future__ import annotations

import asyncio
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field


class Support(BaseModel):
    """What the collaborative backbone knows of a candidate, ready for a prompt."""

    rank: int = Field(description="1-based rank by the backbone among the re-ranked candidates.")
    neighbours: int = Field(description="The most similar people looked at.")
    neighbours_with: int = Field(description="How many of them have the item.")
    because: list[str] = Field(default_factory=list, description="Titles of the user's items that "
                               "contribute most to the backbone's score of it.")


class PromptItem(BaseModel):
    """An item as a prompt shows it: the id plus what a reader needs."""

    item_id: str
    title: str
    genres: list[str] = Field(default_factory=list)
    rating: float | None = None
    support: Support | None = Field(default=None, description="A candidate's collaborative evidence "
                                    "(the rerank prompt states it); None elsewhere.")


class RankingRequest(BaseModel):
    user_id: str | None = None
    source_scene: str
    target_scene: str
    evidence: list[PromptItem] = Field(default_factory=list, description="Source-scene items, for the prompt.")
    target_history: list[PromptItem] = Field(default_factory=list, description="Empty for a cold user.")
    candidates: list[PromptItem]
    # Candidate generators' scores: generator name -> item id -> score; and their fusion.
    generator_scores: dict[str, dict[str, float]] = Field(default_factory=dict)
    prior: dict[str, float] = Field(default_factory=dict, description="Fused candidate score per item.")

    @property
    def ids(self) -> list[str]:
        return [c.item_id for c in self.candidates]

    def prompt_context(self) -> dict:
        return {
            "source_scene": self.source_scene,
            "target_scene": self.target_scene,
            "evidence": [e.model_dump() for e in self.evidence],
            "target_history": [e.model_dump() for e in self.target_history],
        }


class PromptInfo(BaseModel):
    template: str
    sha256: str


class OutputErrors(BaseModel):
    """Counts of what the model got wrong (the evaluation reports their rates)."""

    invalid: int = 0  # unparsable answer
    out_of_candidates: int = 0
    duplicates: int = 0
    missing: int = 0  # candidates the answer left out


class Ranking(BaseModel):
    ranker: str
    item_ids: list[str] = Field(description="Best first; always a permutation of the candidates.")
    scores: dict[str, float]
    prompt: PromptInfo | None = None
    fallback: str | None = Field(default=None, description="Why the candidate scores were used instead.")
    errors: OutputErrors = Field(default_factory=OutputErrors)
    llm_calls: int = 0
    llm_seconds: float = 0.0
    prompt_tokens: int = 0
    positions: dict[str, int] = Field(default_factory=dict, description="Re-rankers: each re-ordered "
                                      "candidate's 1-based place in the backbone's order.")


@runtime_checkable
class Ranker(Protocol):
    name: str

    async def rank(self, request: RankingRequest) -> Ranking: ...


def order_by(scores: dict[str, float], request: RankingRequest) -> list[str]:
    """Candidates sorted by score, ties broken by the prior, then by the given order."""
    ids = request.ids
    keys = [(-scores.get(i, -np.inf), -request.prior.get(i, 0.0), n) for n, i in enumerate(ids)]
    return [ids[n] for *_, n in sorted(keys)]


OrderDesign = Literal["balanced", "shuffled"]


class OrderedConfig(BaseModel):
    """What every LLM ranker is configured with: its template, and the candidate orders it averages
    over (the position-bias control)."""

    template: str
    permutations: int = Field(default=1, ge=1, le=20, description="Candidate orders to average.")
    orders: OrderDesign = Field(default="balanced", description="How the extra orders are made.")
    seed: int = 0


def candidate_orders(ids: list[str], permutations: int, seed: int,
                     design: OrderDesign = "balanced") -> list[list[str]]:
    """The given order first, then ``permutations - 1`` more (position-bias control).

    ``balanced``: cyclic rotations by n/k, so each item is listed once in every k-th of the list
    and a bias that follows the position (the label-A bonus) averages out over the orders; with
    random shuffles an item that drew label A once keeps most of that bonus in the average
    (docs/results.md, 3 shuffled orders: spread 1.9x the mean). At most n distinct rotations.
    ``shuffled``: seeded random shuffles (the design of the first runs).
    """
    if design == "shuffled":
        rng = np.random.default_rng(seed)
        return [list(ids)] + [[str(i) for i in rng.permutation(ids)] for _ in range(permutations - 1)]
    n = len(ids)
    offsets = dict.fromkeys(j * n // permutations for j in range(permutations))  # distinct, in order
    return [list(ids[o:]) + list(ids[:o]) for o in offsets]


async def prefix_first(call, orders: list[list[str]]) -> list:
    """``call(order)`` for every order: the first alone, then the rest at once. The orders share
    the prompt's prefix (candidates come last), so once the first is in vLLM's prefix cache the
    others only pay for their candidate block; sent together, each would compute it all."""
    first = await call(orders[0])
    return [first, *await asyncio.gather(*(call(order) for order in orders[1:]))]


async def answered_orders(call, orders: list[list[str]]) -> tuple[list, int]:
    """``prefix_first`` that keeps the orders whose answer parsed, and counts the others: with k
    orders, one garbled answer costs that order, not the whole ranking. If no order parsed, the
    first bad answer is raised; a server that is down or slow still raises at once."""
    from agent.llm import LLMBadOutput

    async def guarded(order: list[str]):
        try:
            return await call(order)
        except LLMBadOutput as exc:
            return exc

    results = await prefix_first(guarded, orders)
    answered = [r for r in results if not isinstance(r, LLMBadOutput)]
    if not answered:
        raise results[0]
    return answered, len(results) - len(answered)


def llm_fallback(request: RankingRequest, ranker: str, error: Exception) -> Ranking:
    """The prior's ranking when the model failed; a bad answer counts as an invalid output."""
    from agent.llm import LLMBadOutput

    invalid = OutputErrors(invalid=1) if isinstance(error, LLMBadOutput) else None
    message = getattr(error, "message", str(error))
    return prior_ranking(request, ranker, f"{type(error).__name__}: {message}", invalid)


def prior_ranking(request: RankingRequest, ranker: str, reason: str | None,
                  errors: OutputErrors | None = None) -> Ranking:
    """The fallback: rank by the candidate generators' fused score."""
    scores = {i: request.prior.get(i, 0.0) for i in request.ids}
    return Ranking(ranker=ranker, item_ids=order_by(scores, request), scores=scores, fallback=reason,
                   errors=errors or OutputErrors())
