"""Fusion fitting on validation users and the explanation checks, on the ML-100k store."""

import asyncio
import inspect

import pytest

from agent.cases import split_of
from agent.fusion import LLM, FusionWeights
from agent.service import Service
from core.domain import Item
from evals.explanations import RagasJudge, check, evidence_named, stated_facts, summarize
from evals.fusion_fit import fit
from tests.agent.fake_llm import FakeLLM, prefers


@pytest.mark.slow
def test_fit_uses_validation_users_and_a_blind_llm_gets_no_weight(retriever):
    service = Service(retriever, FakeLLM(prefers({})), FusionWeights())  # an LLM with no opinion
    weights = asyncio.run(fit(service, users=30, seed=0, progress=False))
    assert weights.fitted and weights.fitted_on["split"] == "validation"
    # 30 users warm and cold, each with uniform and popularity-weighted negatives: one set of
    # weights serves both kinds of user and both kinds of competition
    assert weights.fitted_on["users"] == 120 and weights.fitted_on["llm_answered"] == 120
    assert weights.fitted_on["protocol"] == "warm+cold" and weights.fitted_on["negatives"] == "uniform+popular"
    assert set(weights.fitted_on["ndcg@10_cross_validated"]) == {"warm", "cold"}
    assert weights.weights[LLM] == 0.0  # uniform label probabilities carry no signal
    assert weights.fitted_on["ndcg@10"] >= weights.fitted_on["ndcg@10_default_weights"]
    assert weights.fitted_on["ndcg@10_alone"][LLM] == pytest.approx(0.2268, abs=1e-3)


def test_validation_users_are_not_test_users():
    assert split_of("100k_1") in ("train", "validation", "test")
    users = [f"100k_{n}" for n in range(1, 944)]
    assert {split_of(u) for u in users} == {"train", "validation", "test"}


ALIEN = Item(item_id="Alien (1979)", title="Alien", year=1979, genres=("Horror", "Sci-Fi"))
HELP = Item(item_id="Help! (1965)", title="Help!", year=1965, genres=("Comedy", "Musical"))
VOCABULARY = ["Action", "Comedy", "Horror", "Musical", "Mystery", "Sci-Fi", "Western"]


def test_stated_facts_are_found():
    assert stated_facts("A 1979 horror classic, no western", VOCABULARY) == ({1979}, {"Horror", "Western"})


def test_explanation_checks():
    good = check(ALIEN, "Like Help! (1965), Alien (1979) mixes horror and fun.", [HELP], {"Help! (1965)"},
                 VOCABULARY, "llm")
    assert good.citations_valid and good.facts_valid
    invented = check(ALIEN, "A 1984 western.", [HELP], {"Help! (1965)"}, VOCABULARY, "llm")
    assert not invented.facts_valid and set(invented.unsupported) == {"1984", "Western"}
    outside = check(ALIEN, "Because of Help!.", [HELP], {"Something Else (1990)"}, VOCABULARY, "llm")
    assert not outside.citations_valid
    mystery_men = Item(item_id="Mystery Men (1999)", title="Mystery Men", year=1999, genres=["Action", "Comedy"])
    named = check(ALIEN, "You enjoyed Mystery Men; Alien shares its action.", [mystery_men],
                  {"Mystery Men (1999)"}, VOCABULARY, "evidence")
    assert named.facts_valid, named.unsupported  # a title's words are not claims


class ScriptedMetric:
    """A ragas collections metric as the judge uses it: ``ascore(**inputs) -> MetricResult``, the
    inputs bound against the real metric's signature, the outcome scripted (a score or an error)."""

    def __init__(self, real: type, outcome: object):
        self.real, self.outcome = real, outcome

    async def ascore(self, **inputs):
        from ragas.metrics.result import MetricResult

        inspect.signature(self.real.ascore).bind(self, **inputs)  # the real metric would take these
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return MetricResult(value=self.outcome)


class ScriptedJudge(RagasJudge):
    """The real judge's scoring and bookkeeping, with scripted metrics in place of a model server."""

    def __init__(self, faithfulness: object, answer_relevancy: object, *, timeout_s: float = 1.0):
        from ragas.metrics.collections import AnswerRelevancy, Faithfulness

        self.base_url, self.model, self.timeout_s = "scripted://judge", "scripted", timeout_s
        self.metrics = {"faithfulness": ScriptedMetric(Faithfulness, faithfulness),
                        "answer_relevancy": ScriptedMetric(AnswerRelevancy, answer_relevancy)}


def test_the_judge_records_why_a_metric_has_no_score():
    from instructor.core.exceptions import IncompleteOutputException

    judge = ScriptedJudge(IncompleteOutputException(), 0.75)
    verdict = check(ALIEN, "Like Help! (1965).", [HELP], {"Help! (1965)"}, VOCABULARY, "llm")
    asyncio.run(judge.score(verdict, "why?", ["Alien (1979)"]))
    assert verdict.faithfulness is None and verdict.answer_relevancy == 0.75
    assert verdict.judge_errors == {"faithfulness": "answer cut at max_tokens (the judge looped)"}
    other = check(ALIEN, "Alien.", [], set(), VOCABULARY, "llm")
    asyncio.run(ScriptedJudge(float("nan"), TimeoutError()).score(other, "why?", []))
    assert other.judge_errors == {"faithfulness": "no score (nan)", "answer_relevancy": "timeout"}
    summary = summarize([verdict, other], judge)
    assert summary["ragas_judged"] == 1 and summary["ragas_answer_relevancy"] == 0.75
    assert summary["ragas_judge_errors"] == {"faithfulness: answer cut at max_tokens (the judge looped)": 1,
                                             "faithfulness: no score (nan)": 1, "answer_relevancy: timeout": 1}
    assert summary["judge"] == {"url": "scripted://judge", "model": "scripted"}


def test_evidence_named_is_ragas_string_presence_over_the_cited_titles():
    assert asyncio.run(evidence_named("Because you liked Help! (1965).", ["Help! (1965)", "Alien (1979)"])) == 0.5
    assert asyncio.run(evidence_named("No citation.", [])) is None
