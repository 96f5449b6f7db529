"""The explainer around a scripted model (tests/agent/fake_llm.py, the real backend contract):
the model's sentence when it passes the checks (agent/explain/checks.py), the evidence sentence
when the answer is bad, states a false claim or the call fails (and the explanation says which),
and only the person's own items as evidence.

Real ML-100k items and counts (``scene_data``, no store): user 100k_5's comedies rated 5 as the
evidence for a Sci-Fi film they never rated."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.candidates import Attribution, Contribution, user_evidence
from agent.explain import (
    MIN_WORDS,
    Explainer,
    Explanation,
    ItemEvidence,
    answer_evidence,
    evidence_sentence,
    explanation_schema,
)
from agent.llm import Completion, LLMBadOutput, LLMTimeout, LLMUnavailable
from core.titles import display_title, shown_title
from tests.agent.fake_llm import FakeLLM

USER, TARGET_ITEM = "100k_5", "Contact (1997)"


@pytest.fixture(scope="module")
def history(scene_data) -> list[str]:
    """100k_5's items of both scenes, as the recommender passes them (the ids of their history)."""
    return [e.item_id for s in ("Comedy", "Sci-Fi") for e in scene_data.history(USER, s)]


@pytest.fixture(scope="module")
def evidence(scene_data, catalogue, history) -> ItemEvidence:
    """Three of the user's comedies rated 5, the largest part of the score first (as the
    backbone's attributions give them), with their real counts."""
    assert TARGET_ITEM not in history
    ratings = {e.item_id: e.rating for s in ("Comedy", "Sci-Fi") for e in scene_data.history(USER, s)}
    liked = [e.item_id for e in scene_data.history(USER, "Comedy") if e.rating == 5][:3]
    why = {TARGET_ITEM: Attribution(item_id=TARGET_ITEM, model="test", score=0.6, contributions=[
        Contribution(item_id=i, value=0.3 - 0.1 * n, share=0.5 - n / 6) for n, i in enumerate(liked)])}
    found = answer_evidence(scene_data, user_evidence(scene_data, USER, source="Comedy", target="Sci-Fi"),
                            [TARGET_ITEM], why, catalogue, ratings)[TARGET_ITEM]
    assert len(found.contributors) == 3 and all(c.lovers_with > 0 for c in found.contributors)
    return found


def explain(llm, evidence, history) -> Explanation:
    return asyncio.run(Explainer(llm).explain(evidence, set(history)))


def answering(text: str | None = None, *, sentence: str = "", cites: list[str] | None = None) -> FakeLLM:
    text = text if text is not None else json.dumps({"sentence": sentence, "cites": cites or []})
    return FakeLLM(lambda prompt, kwargs: Completion(text=text))


def test_the_models_sentence_is_used_when_it_passes_the_checks(evidence, history):
    first = evidence.contributors[0]
    named = display_title(first.item.title)
    sentence = (f"Since you gave {named}  a 5, the quiet wonder of\n Contact, a {first.lovers_with}-strong "
                "favourite among its fans, should suit you.")
    llm = answering(sentence=sentence, cites=[first.item.item_id])
    result = explain(llm, evidence, history)
    assert result.error is None and result.source == "llm", result.error
    assert result.text == " ".join(sentence.split())  # the model's words, whitespace folded
    assert result.evidence == evidence.cited and result.dropped_citations == 0
    # what the model was asked: citations only among the evidence, a bounded answer, the evidence's facts
    (call,) = llm.calls
    assert call["json_schema"] == explanation_schema(evidence.cited) and call["max_tokens"] == 72
    assert call["json_schema"]["properties"]["cites"]["items"]["enum"] == evidence.cited
    (prompt,) = llm.prompts
    assert all(f"- {c.item.item_id}\n" in prompt for c in evidence.contributors) and shown_title(evidence.item) in prompt
    assert (f"{first.lovers_with} of the {first.lovers:,} other people who rated it 4 or 5 also rated "
            f"{shown_title(evidence.item)} 4 or 5") in prompt


def test_a_citation_from_the_history_beyond_the_evidence_is_kept(evidence, history):
    """A server that ignores the schema's enum may cite another of the person's items: true, kept."""
    other = next(i for i in history if i not in evidence.cited)
    sentence = f"You enjoyed {display_title(evidence.contributors[0].item.title)} a lot, and Contact has its warmth."
    result = explain(answering(sentence=sentence, cites=[other]), evidence, history)
    assert result.source == "llm" and result.evidence == [*evidence.cited, other]


def false_claims(evidence: ItemEvidence) -> dict[str, tuple[str, list[str], str]]:
    first = evidence.contributors[0]
    named, cite = display_title(first.item.title), [first.item.item_id]
    return {
        "a wrong count": (f"Because you loved {named}, Contact is for you: {first.lovers_with + 1} of its fans agree.",
                          cite, f"states {first.lovers_with + 1}"),
        "a genre the item lacks": (f"Because you loved {named}, you will enjoy Contact, a gentle western.", cite,
                                   "Western of Contact"),
        "a year off by one": (f"Because you loved {named}, you will enjoy Contact (1998) and its quiet awe.", cite,
                              "Contact is from 1998"),
        "a cited id not in the history": (f"Because you loved {named}, you will enjoy Contact and its quiet awe.",
                                          [*cite, "Made Up Film (2031)"], "cites 'Made Up Film (2031)'"),
        "a rating not given": (f"You gave {named} a 2, yet Contact should still suit your taste.", cite,
                               f"you rated {named} 2"),
    }


@pytest.mark.parametrize("claim", ["a wrong count", "a genre the item lacks", "a year off by one",
                                   "a cited id not in the history", "a rating not given"])
def test_a_sentence_with_a_false_claim_falls_back_and_says_why(evidence, history, claim):
    sentence, cites, problem = false_claims(evidence)[claim]
    result = explain(answering(sentence=sentence, cites=cites), evidence, history)
    assert result.source == "evidence" and result.text == evidence_sentence(evidence)
    assert result.error.startswith("LLMBadOutput: the explanation ") and problem in result.error, result.error
    assert result.evidence == evidence.cited
    assert result.dropped_citations == (1 if claim == "a cited id not in the history" else 0)


BAD_ANSWERS = {
    "not JSON": "Because you enjoyed comedies, you will like this one.",
    "cut off": '{"sentence": "Because you enjoyed Groundhog Day, this',
    "no cites": json.dumps({"sentence": "Because you enjoyed Groundhog Day, this one should suit you."}),
    "cites not a list": json.dumps({"sentence": "Because you enjoyed it, this one should suit you.", "cites": 3}),
    "too short": json.dumps({"sentence": " ".join(["Enjoy"] * (MIN_WORDS - 1)), "cites": []}),
    "the placeholder echoed": json.dumps({"sentence": "Because you enjoyed ..., this one suits you.", "cites": []}),
    "a JSON string": json.dumps("Because you enjoyed Groundhog Day, this one should suit you."),
    # gemma-3-270m's usual answer: an evidence title (or the item's) and nothing else
    "a title echoed": json.dumps({"sentence": "Contact (1997) and Monty Python and the Holy Grail (1974)",
                                  "cites": []}),
    # and with the genres the prompt lists for it (gemma-3-270m, ML-1M validation users)
    "a title and its genres echoed": json.dumps({"sentence": "Contact (1997) (Drama, Sci-Fi) and Contact (1997)",
                                                 "cites": []}),
}


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_a_bad_answer_falls_back_to_the_evidence_sentence_and_says_so(evidence, history, answer):
    result = explain(answering(answer), evidence, history)
    assert result.source == "evidence" and result.error.startswith("LLMBadOutput: ")
    assert result.text == evidence_sentence(evidence)
    assert result.evidence == evidence.cited and result.dropped_citations == 0


@pytest.mark.parametrize("failure", [LLMUnavailable("the model server at http://127.0.0.1:9/v1 is down"),
                                     LLMTimeout("no answer within 60 s"), LLMBadOutput("empty answer")],
                         ids=lambda e: type(e).__name__)
def test_a_failed_call_falls_back_and_names_the_failure(evidence, history, failure):
    result = explain(FakeLLM(lambda prompt, kwargs: failure), evidence, history)
    assert result.source == "evidence" and result.error == f"{type(failure).__name__}: {failure.message}"
    assert result.text == evidence_sentence(evidence)


def test_a_bug_in_the_backend_is_not_taken_for_a_bad_answer(evidence, history):
    with pytest.raises(RuntimeError, match="a bug"):
        explain(FakeLLM(lambda prompt, kwargs: RuntimeError("a bug")), evidence, history)


def test_without_a_model_the_evidence_sentence_is_used_and_no_error_is_claimed(evidence, history):
    result = explain(None, evidence, history)
    assert result == Explanation(text=evidence_sentence(evidence), evidence=evidence.cited, source="evidence")


def test_without_evidence_the_model_may_cite_nothing():
    assert explanation_schema([])["properties"]["cites"] == {"type": "array", "maxItems": 0}
    assert explanation_schema(["a", "b"])["properties"]["cites"]["maxItems"] == 2
