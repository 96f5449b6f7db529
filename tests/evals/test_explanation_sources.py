"""The wording comparison (evals/explanation_sources.py) around a scripted model (the real backend
contract): each wording checked and timed, a model answer that is no sentence counted apart from
one with a false claim, and the summary and report counting both sources the same way."""

from __future__ import annotations

import asyncio
import json

from agent.explain import Contributor, Explainer, ItemEvidence, evidence_sentence
from agent.llm import Completion, LLMTimeout
from core.domain import Item
from evals.explanation_sources import ItemRow, SourcesConfig, UserRow, _checked, _worded, report, summarize
from tests.agent.fake_llm import FakeLLM

CONTACT = Item(item_id="Contact (1997)", title="Contact", year=1997, genres=("Drama", "Sci-Fi"))
GROUNDHOG = Item(item_id="Groundhog Day (1993)", title="Groundhog Day", year=1993, genres=("Comedy", "Romance"))
EVIDENCE = ItemEvidence(item=CONTACT, raters=1503, lovers=824, top_rating=5.0, contributors=[
    Contributor(item=GROUNDHOG, share=1.0, rating=5.0, lovers=1661, lovers_with=412)])
HISTORY = {GROUNDHOG.item_id}


def worded(answer) -> object:
    llm = FakeLLM(lambda prompt, kwargs: answer)
    return asyncio.run(_worded(Explainer(llm), EVIDENCE, HISTORY))


def test_each_model_answer_is_checked_and_timed():
    true = json.dumps({"sentence": "Since you gave Groundhog Day a 5, Contact should suit you well.",
                       "cites": [GROUNDHOG.item_id]})
    false = json.dumps({"sentence": "Since you gave Groundhog Day a 5, Contact, a western, should suit you.",
                        "cites": [GROUNDHOG.item_id]})
    passed, failed = worded(Completion(text=true)), worded(Completion(text=false))
    assert passed.passed and passed.error is None and passed.seconds >= 0
    assert not failed.passed and failed.text and "Western of Contact" in failed.problems[0]
    timeout = worded(LLMTimeout("no answer within 10 s"))
    assert timeout.text is None and not timeout.passed and timeout.error == "LLMTimeout: no answer within 10 s"
    echo = worded(Completion(text=json.dumps({"sentence": "Contact (1997) Contact (1997) Groundhog Day",
                                              "cites": []})))
    assert echo.text is None and echo.error.startswith("LLMBadOutput")


def test_the_summary_counts_both_wordings_alike():
    good = _checked(evidence_sentence(EVIDENCE), EVIDENCE.cited, EVIDENCE, HISTORY, 0.001)
    assert good.passed
    rows = [UserRow(user=f"u{n}", prepare_seconds=0.05, evidence_answer_seconds=0.002, llm_answer_seconds=3.0,
                    items=[ItemRow(item_id=CONTACT.item_id, rank=1, evidence=good,
                                   llm=worded(LLMTimeout("no answer within 10 s")) if n else
                                   worded(Completion(text=json.dumps({
                                       "sentence": "Since you gave Groundhog Day a 3, Contact should suit you.",
                                       "cites": [GROUNDHOG.item_id]}))))])
            for n in range(2)]
    summary = summarize(rows, model="fake-model", llm_url="http://127.0.0.1:9/v1")
    assert summary["evidence"]["passed"] == 2 and summary["evidence"]["pass_rate"] == 1.0
    assert summary["llm"]["passed"] == 0 and summary["llm"]["no_sentence"] == 1 and summary["llm"]["failed_checks"] == 1
    assert summary["llm"]["errors"] == {"LLMTimeout": 1} and summary["llm"]["problems"] == {"a number": 1, "a rating": 1}
    assert summary["llm"]["seconds_per_answer"]["p50"] == 3.0
    text = report(summary, SourcesConfig(users=2, k=1))
    assert "| evidence | 2 / 2 |" in text and "| llm | 0 / 2 | 1 | 1 |" in text
