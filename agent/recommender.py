"""The agent: one request in, ranked and explained recommendations out.

retrieval (histories, titles) -> candidates (given, or the backbone's best, scored by every
generator) -> ranker (the store's validated default unless one is named: the backbone, or the LLM
through the prompt templates) -> explanations (the backbone's attributions first) -> result.
The CLI, the evaluation harness and serve.py all call ``Recommender.recommend``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent.candidates import (
    CandidateSet,
    RatedItem,
    SceneData,
    UserEvidence,
    attribute,
    candidate_support,
    generate_candidates,
    load_scene_data,
)
from agent.candidates import score_candidates as score_given
from agent.candidates.generate import DEFAULT_GENERATORS
from agent.explain import Explainer, Explanation, ItemEvidence, answer_evidence
from agent.fusion import FusionWeights
from agent.llm import LLMBackend
from agent.rankers import LLM_RANKERS, SUPPORTED_RANKERS, PromptItem, Ranking, RankingRequest, make_ranker
from agent.rankers.base import Support, prior_ranking
from agent.requests import Recommendation, RecommendedItem, RecommendRequest
from agent.selection import ensure_backbone
from agent.topic import TOPIC, TOPIC_WEIGHT, Topic, with_topic
from core.domain import HistoryEntry, Item
from core.errors import NotFoundError, ScenebridgeError
from core.titles import display_title, shown_title
from retrievers import Retriever


@dataclass(frozen=True)
class _Plan:
    """What the synchronous steps of a request hand to the model call and the explanations."""
    source: str
    target: str
    evidence: UserEvidence
    history: list[HistoryEntry]
    data: SceneData
    ranker: str
    candidates: int
    ranking_request: RankingRequest
    ranking_from: float  # perf_counter when the ranking step began (building its prompt's evidence)


class Explaining:
    """A request ranked, its explanations under way: one task per item, all started at once so
    they run concurrently, read here in rank order. ``head`` is the answer as ranked, without
    explanations; ``explained()`` gives each item once its explanation is written; ``result()``
    the whole answer, as ``Recommender.recommend`` returns it. Whoever stops reading early calls
    ``cancel()``: the explanations left are given up. ``items``: every item the answer names (the
    ranked ones and the user's items their evidence may cite), read from the store before the
    answer starts, so that writing it reads nothing more (a store lost mid-answer cannot break it)."""

    def __init__(self, head: Recommendation, explaining: dict[str, asyncio.Task[Explanation]], *,
                 llm: LLMBackend | None, started: float, clock: float, items: dict[str, Item] | None = None):
        self.head = head
        self.items = items or {}
        self._tasks = explaining
        self._llm = llm
        self._started, self._clock = started, clock  # perf_counter at the request's start, at explaining's

    async def explained(self) -> AsyncIterator[RecommendedItem]:
        for rec in self.head.items:
            task = self._tasks.get(rec.item_id)
            yield rec if task is None else _with(rec, await task)

    async def result(self) -> Recommendation:
        try:
            explanations = {i: await task for i, task in self._tasks.items()}
        except BaseException:  # one failed (a bug) or this request was cancelled: give up the others
            self.cancel()
            raise
        timings = dict(self.head.timings)
        timings["explanation"] = round(time.perf_counter() - self._clock, 4)
        timings["total"] = round(time.perf_counter() - self._started, 4)
        items = [_with(rec, explanations[rec.item_id]) if rec.item_id in explanations else rec
                 for rec in self.head.items]
        # The model's name as known now (a backend learns it on its first call, maybe an explanation).
        return self.head.model_copy(update={
            "items": items, "timings": timings, "model": self._llm.model if self._llm else None,
            "dropped_citations": sum(e.dropped_citations for e in explanations.values())})

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    async def settled(self) -> None:
        """Until every explanation is written, failed or given up (never raises for them)."""
        if self._tasks:
            await asyncio.wait(self._tasks.values())


def _with(rec: RecommendedItem, explanation: Explanation) -> RecommendedItem:
    return rec.model_copy(update={"explanation": explanation.text, "evidence": explanation.evidence,
                                  "explanation_source": explanation.source})


class Recommender:
    def __init__(self, retriever: Retriever, llm: LLMBackend | None, *, weights: FusionWeights | None = None,
                 topic_weight: float = TOPIC_WEIGHT,
                 evidence_items: int = 15, history_items: int = 10, explanation_evidence: int = 3,
                 support_head: int = 20, progress: bool = False):
        self.retriever = retriever
        self.progress = progress  # a progress bar when the store's backbone must be fitted first
        self.llm = llm
        self.weights = weights or FusionWeights()
        self.topic_weight = topic_weight  # of a request's topic against the ranker's scores (agent/topic.py)
        self.evidence_items = evidence_items
        self.history_items = history_items
        self.explanation_evidence = explanation_evidence
        self.support_head = support_head  # candidates whose collaborative evidence a prompt states
        self.explainer = Explainer(llm)

    # -- scenes and people ---------------------------------------------------------------------
    def scenes(self, request: RecommendRequest) -> tuple[str, str]:
        target = self.retriever.check_scene(request.target_scene)
        if request.source_scene:
            source = self.retriever.check_scene(request.source_scene)
        elif self.retriever.info.source and self.retriever.info.source != target:
            source = self.retriever.info.source
        else:
            others = [s for s in self.retriever.scenes if s != target]
            if len(others) != 1:
                raise ScenebridgeError("which scene holds the user's evidence?", param="source_scene",
                                       hint=f"name a source scene: {', '.join(others)}")
            source = others[0]
        if source == target:
            raise ScenebridgeError(f"source and target are both {target!r}", param="source_scene",
                                   hint="recommend in another scene than the evidence comes from")
        return source, target

    def evidence(self, request: RecommendRequest, source: str, target: str) -> tuple[UserEvidence, list[HistoryEntry], list[HistoryEntry]]:
        """The person's source items and target history, from the store or from liked titles."""
        if request.user_id is not None:
            hidden = set(request.withhold)
            source_history = [e for e in self.retriever.history(request.user_id, source).entries
                              if e.item_id not in hidden]
            target_history = [e for e in self.retriever.history(request.user_id, target).entries
                              if e.item_id not in hidden]
        else:
            liked = [self.retriever.resolve(title) for title in request.likes]
            source_history = [HistoryEntry(item_id=i.item_id, timestamp=n, rating=5.0)
                              for n, i in enumerate(liked) if i.scene == source]
            target_history = [HistoryEntry(item_id=i.item_id, timestamp=n, rating=5.0)
                              for n, i in enumerate(liked) if i.scene == target]
            if not source_history and not target_history:
                raise ScenebridgeError(
                    f"none of the liked titles is in {source} or {target}", param="likes",
                    hint=f"name titles of {source} (your tastes) or {target}: "
                    + "; ".join(f"{i.item_id} is in {i.scene or 'no scene'}" for i in liked))
        evidence = UserEvidence(
            user_id=request.user_id, source_scene=source, target_scene=target,
            source_items=tuple(RatedItem(item_id=e.item_id, rating=e.rating) for e in source_history),
            target_history=tuple(e.item_id for e in target_history),
        )
        return evidence, source_history, target_history

    @staticmethod
    def _prompt_history(history: list[HistoryEntry], limit: int) -> list[HistoryEntry]:
        """At most ``limit`` entries, oldest first: the most recent liked ones, topped up with the
        most recent others when fewer were liked."""
        liked = [e for e in history if e.liked]
        others = [e for e in history if not e.liked]
        chosen = liked[-limit:] if len(liked) >= limit else liked + others[len(others) - (limit - len(liked)):]
        return sorted(chosen, key=lambda e: e.timestamp)

    # -- the request ---------------------------------------------------------------------------
    async def recommend(self, request: RecommendRequest) -> Recommendation:
        """The CPU-bound steps (retrieval, candidate scoring, support, attributions) run in a worker
        thread: a server's event loop stays free for other clients while one request computes."""
        return await (await self.start(request)).result()

    async def start(self, request: RecommendRequest) -> Explaining:
        """The request ranked, with its explanations started (for answers that are sent as they are
        written: the ranking first, then each item as its explanation is ready)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        plan = await asyncio.to_thread(self._plan, request, timings)
        clock = plan.ranking_from  # the ranking step: its prompt's evidence, then the model call
        ranking = await self._rank(request.model_copy(update={"ranker": plan.ranker}), plan.ranking_request)
        ranking = with_topic(ranking, plan.ranking_request, self.topic_weight)
        timings["model"] = round(ranking.llm_seconds, 4)
        timings["ranking"] = round(time.perf_counter() - clock, 4)

        clock = time.perf_counter()
        top = ranking.item_ids[: request.k]
        items = {i.item_id: i for i in self.retriever.items(top)}
        explaining: dict[str, asyncio.Task[Explanation]] = {}
        if request.explain:
            explaining, items = await self._explain(plan.data, plan.evidence, top, items, plan.history)
        head = Recommendation(
            user=request.user_id, likes=request.likes, target_scene=plan.target, source_scene=plan.source,
            items=[RecommendedItem(item_id=item_id, title=items[item_id].title, rank=rank,
                                   score=round(ranking.scores[item_id], 6))
                   for rank, item_id in enumerate(top, start=1)],
            ranker=ranking.ranker, prompt=ranking.prompt, model=self.llm.model if self.llm else None,
            fallback=ranking.fallback, timings=timings, candidates=plan.candidates, errors=ranking.errors,
        )
        return Explaining(head, explaining, llm=self.llm, started=started, clock=clock, items=items)

    def _plan(self, request: RecommendRequest, timings: dict[str, float]) -> _Plan:
        """Everything before the model call (synchronous; ``timings`` gets its laps)."""
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 4)
            clock = now

        source, target = self.scenes(request)
        evidence, source_history, target_history = self.evidence(request, source, target)
        lap("retrieval")

        data = load_scene_data(self.retriever)
        # A store without a backbone is fitted first (about a minute, once).
        choice = ensure_backbone(data, source, target, progress=self.progress)
        ranker = request.ranker or choice.default_ranker
        # A topic scores every target item like a generator: its best join the candidates, its
        # weight counts in their order, and the ranking is fused with it (``start``).
        generators = (*DEFAULT_GENERATORS, Topic(text=request.topic)) if request.topic else DEFAULT_GENERATORS
        if request.candidates is not None:
            try:
                candidates = score_given(data, evidence, [c for c in request.candidates if c not in request.exclude],
                                         generators=generators)
            except NotFoundError as exc:  # not an item of the target scene: the candidates are at fault
                exc.param = "candidates"
                raise
        else:
            # A re-ranker reads the backbone's best; the other rankers the fused candidates. At
            # least k of them, so that k items come back.
            weights = {"backbone": 1.0} if ranker in SUPPORTED_RANKERS else self.weights.weights
            candidates = generate_candidates(data, evidence, limit=max(request.n_candidates, request.k),
                                             exclude=request.exclude, generators=generators,
                                             weights={**weights, TOPIC: self.topic_weight})
        if not candidates.items:
            raise ScenebridgeError(f"no candidate left to rank in {target}", param="candidates",
                                   hint="give candidates, or exclude fewer items")
        lap("candidates")

        ranking_request = self.ranking_request(request, candidates, evidence, source_history, target_history,
                                               support_from=data if ranker in SUPPORTED_RANKERS else None)
        return _Plan(source=source, target=target, evidence=evidence, history=source_history + target_history,
                     data=data, ranker=ranker, candidates=len(candidates.items), ranking_request=ranking_request,
                     ranking_from=clock)

    def ranking_request(self, request, candidates: CandidateSet, evidence: UserEvidence,
                         source_history, target_history, *, support_from: SceneData | None = None) -> RankingRequest:
        """``support_from``: the loaded data, to attach the collaborative evidence of the backbone's
        ``support_head`` best candidates (what the rerank prompt states)."""
        ids = candidates.item_ids
        shown_source = self._prompt_history(source_history, self.evidence_items)
        shown_target = self._prompt_history(target_history, self.history_items)
        needed = ids + [e.item_id for e in shown_source + shown_target]
        items = {i.item_id: i for i in self.retriever.items(list(dict.fromkeys(needed)))}

        def prompt_items(entries: list[HistoryEntry]) -> list[PromptItem]:
            return [PromptItem(item_id=e.item_id, title=shown_title(items[e.item_id]),
                               genres=list(items[e.item_id].genres), rating=e.rating) for e in entries]

        normalized = candidates.normalized()
        generator_scores = {name: dict(zip(ids, values.tolist(), strict=True)) for name, values in normalized.items()}
        weights = {n: w for n, w in self.weights.weights.items() if n in candidates.generators}
        prior = dict(zip(ids, candidates.fused(weights).tolist(), strict=True))
        support = self._support(support_from, candidates, evidence) if support_from is not None else {}
        return RankingRequest(
            user_id=evidence.user_id, source_scene=evidence.source_scene, target_scene=evidence.target_scene,
            evidence=prompt_items(shown_source),
            target_history=prompt_items(shown_target),
            candidates=[PromptItem(item_id=i, title=shown_title(items[i]), genres=list(items[i].genres),
                                   support=support.get(i)) for i in ids],
            generator_scores=generator_scores, prior=prior,
        )

    def _support(self, data: SceneData, candidates: CandidateSet, evidence: UserEvidence) -> dict[str, Support]:
        """The backbone's best ``support_head`` candidates, each with its evidence in words."""
        by_backbone = sorted(candidates.items, key=lambda c: -c.scores.get("backbone", float("-inf")))
        head = [c.item_id for c in by_backbone[: self.support_head]]
        found = candidate_support(data, evidence, head)
        cited = sorted({i for s in found.values() for i in s.because})
        titles = {i.item_id: display_title(i.title) for i in self.retriever.items(cited)} if cited else {}
        return {i: Support(rank=s.rank, neighbours=s.neighbours, neighbours_with=s.neighbours_with,
                           because=[titles[b] for b in s.because]) for i, s in found.items()}

    async def _rank(self, request: RecommendRequest, ranking_request: RankingRequest) -> Ranking:
        if self.llm is None and request.ranker in LLM_RANKERS:
            return prior_ranking(ranking_request, request.ranker, "no model server configured")
        ranker = make_ranker(request.ranker, self.llm, permutations=request.permutations, weights=self.weights)
        return await ranker.rank(ranking_request)

    async def _explain(self, data, evidence: UserEvidence, top: list[str], items: dict[str, Item],
                       history: list[HistoryEntry]) -> tuple[dict[str, asyncio.Task[Explanation]], dict[str, Item]]:
        """Each item's evidence is what made the backbone score it: the user's own items with the
        largest parts of its score, and their shares. Each item's explanation is a task of its
        own, started here: they run concurrently, and are read in rank order (``Explaining``).
        With the tasks, ``items`` topped up with the items the evidence cites."""
        known = dict(items)
        prepared = await asyncio.to_thread(self.answer_evidence, data, evidence, top, known, history)
        history_ids = {e.item_id for e in history}
        return {i: asyncio.ensure_future(self.explainer.explain(prepared[i], history_ids)) for i in top}, known

    def answer_evidence(self, data: SceneData, evidence: UserEvidence, top: list[str], items: dict[str, Item],
                        history: list[HistoryEntry]) -> dict[str, ItemEvidence]:
        """Each top item's evidence (agent/explain/evidence.py): the backbone's attributions, the
        person's ratings of them, the counts (CPU and store reads: call it in a worker thread).
        ``items`` (the top ones at least) gets the cited items added."""
        attributions = attribute(data, evidence, top, top=self.explanation_evidence)
        cited = sorted({c.item_id for a in attributions.values() for c in a.contributions} - set(items))
        if cited:
            items.update({i.item_id: i for i in self.retriever.items(cited)})
        # Named likes carry a stand-in rating of 5 (``evidence`` above) that nobody gave.
        ratings = {e.item_id: e.rating for e in history} if evidence.user_id is not None else {}
        return answer_evidence(data, evidence, top, attributions, items, ratings)
