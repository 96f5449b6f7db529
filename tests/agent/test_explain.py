"""The explainer around a scripted model (tests/agent/fake_llm.py, the real backend contract):
the model's sentence when it passes the checks, the evidence sentence when the answer is bad or
the call fails (and the explanation says which), and only the user's own items as evidence.

Real ML-100k items: user 100k_1's liked comedies as evidence for a Sci-Fi film they never rated."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.explain import EXPLANATION_SCHEMA, MIN_WORDS, Explainer, Explanation, evidence_sentence
from agent.llm import Completion, LLMBadOutput, LLMTimeout, LLMUnavailable
from core.data.dataset import item_from_row
from core.domain import Item, ScoredItem
from core.titles import display_title
from tests.agent.fake_llm import FakeLLM

USER, TARGET_ITEM = "100k_1", "Contact (1997)"


@pytest.fixture(scope="module")
def catalogue(ml100k, ml100k_split) -> dict[str, Item]:
    scenes = ml100k_split.item_scene
    return {i: item_from_row(i, row).model_copy(update={"scene": scenes.get(i)}) for i, row in ml100k.items.iterrows()}


@pytest.fixture(scope="module")
def history(ml100k, ml100k_split) -> list[str]:
    """100k_1's comedies, oldest first, as the recommender passes them (the ids of their history)."""
    frame = ml100k_split.interactions(ml100k)
    mine = frame[(frame["user_id"] == USER) & (frame["scene"] == "Comedy")].sort_values("timestamp", kind="stable")
    return mine["item_id"].tolist()


@pytest.fixture(scope="module")
def evidence(catalogue, history, ml100k) -> list[ScoredItem]:
    """Three of the user's comedies rated 5, the largest part of the score first, each scored by its
    share (as the recommender passes the backbone's attributions)."""
    ratings = ml100k.interactions.query("user_id == @USER").set_index("item_id")["rating"]
    liked = [i for i in history if ratings[i] == 5][:3]
    assert len(liked) == 3
    return [ScoredItem(item=catalogue[i], score=0.3 - 0.1 * n) for n, i in enumerate(liked)]


@pytest.fixture(scope="module")
def item(catalogue, history) -> Item:
    target = catalogue[TARGET_ITEM]
    assert target.scene == "Sci-Fi" and TARGET_ITEM not in history
    return target


def explain(llm, item, evidence, history) -> Explanation:
    return asyncio.run(Explainer(llm).explain(item, evidence, set(history)))


def answering(text: str) -> FakeLLM:
    return FakeLLM(lambda prompt, kwargs: Completion(text=text))


def test_the_models_sentence_is_used_when_it_passes_the_checks(item, evidence, history):
    named, other_liked = evidence[0].item.item_id, history[-1]
    sentence = f"Since you loved {named}, the  quiet wonder of Contact should\n suit you well."
    llm = answering(json.dumps({"sentence": sentence, "cites": [named, other_liked, "Made Up Film (2031)"]}))
    result = explain(llm, item, evidence, history)
    assert result.source == "llm" and result.error is None
    assert result.text == " ".join(sentence.split())  # the model's words, whitespace folded
    # the retrieved evidence first, then what the model named from the history; the invented title is dropped
    assert result.evidence == [e.item.item_id for e in evidence] + [other_liked]
    assert result.dropped_citations == 1
    # what the model was asked: the schema, a bounded answer, the evidence ids and the item
    (call,) = llm.calls
    assert call["json_schema"] == EXPLANATION_SCHEMA and call["max_tokens"] == 72
    (prompt,) = llm.prompts
    assert all(f"- {e.item.item_id}\n" in prompt for e in evidence) and item.title in prompt


def test_the_evidence_is_at_most_five_ids(item, evidence, history):
    cites = history[:4]
    sentence = "You enjoyed these comedies a lot, and this film has the same warmth."
    result = explain(answering(json.dumps({"sentence": sentence, "cites": cites})), item, evidence, history)
    assert result.source == "llm" and len(result.evidence) == 5 and set(result.evidence) <= set(history)
    assert result.evidence[:3] == [e.item.item_id for e in evidence]


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
}


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_a_bad_answer_falls_back_to_the_evidence_sentence_and_says_so(item, evidence, history, answer):
    result = explain(answering(answer), item, evidence, history)
    assert result.source == "evidence" and result.error.startswith("LLMBadOutput: ")
    assert result.text == evidence_sentence(item, evidence)
    assert result.evidence == [e.item.item_id for e in evidence] and result.dropped_citations == 0


@pytest.mark.parametrize("failure", [LLMUnavailable("the model server at http://127.0.0.1:9/v1 is down"),
                                     LLMTimeout("no answer within 60 s"), LLMBadOutput("empty answer")],
                         ids=lambda e: type(e).__name__)
def test_a_failed_call_falls_back_and_names_the_failure(item, evidence, history, failure):
    result = explain(FakeLLM(lambda prompt, kwargs: failure), item, evidence, history)
    assert result.source == "evidence" and result.error == f"{type(failure).__name__}: {failure.message}"
    assert result.text == evidence_sentence(item, evidence)


def test_a_bug_in_the_backend_is_not_taken_for_a_bad_answer(item, evidence, history):
    with pytest.raises(RuntimeError, match="a bug"):
        explain(FakeLLM(lambda prompt, kwargs: RuntimeError("a bug")), item, evidence, history)


def test_without_a_model_the_evidence_sentence_is_used_and_no_error_is_claimed(item, evidence, history):
    result = explain(None, item, evidence, history)
    assert result == Explanation(text=evidence_sentence(item, evidence), evidence=[e.item.item_id for e in evidence],
                                 source="evidence")


def test_the_evidence_sentence_names_the_users_weightiest_items_and_nothing_else(item, evidence, history, catalogue):
    text = evidence_sentence(item, evidence)
    closest = [display_title(e.item.title) for e in evidence[:2]]
    assert text.startswith(f"People who watched {closest[0]} and {closest[1]}, as you did, often watched "
                           f"{display_title(item.title)} too (50% of what points to it)")
    unnamed = {display_title(catalogue[i].title) for i in history} - set(closest)
    assert not [t for t in unnamed if t in text]  # of the user's items, only the two weightiest are named
    assert all(e.item.item_id in history for e in evidence)
    shared = [g for g in item.genres if any(g in e.item.genres for e in evidence)]
    if shared:
        assert f"shares their {', '.join(shared[:2]).lower()} streak" in text
    else:
        assert "streak" not in text


def test_the_evidence_sentence_with_one_item_or_none(item, evidence):
    shared = [g for g in item.genres if g in evidence[0].item.genres]
    also = f"; it shares their {', '.join(shared[:2]).lower()} streak" if shared else ""
    assert evidence_sentence(item, evidence[:1]) == (
        f"People who watched {display_title(evidence[0].item.title)}, as you did, often watched "
        f"{display_title(item.title)} too (30% of what points to it){also}.")
    unknown = [e.model_copy(update={"score": 0.0}) for e in evidence[:1]]
    assert "%" not in evidence_sentence(item, unknown)
    everything = [e.model_copy(update={"score": 1.0}) for e in evidence[:1]]  # the only evidence there is
    assert "%" not in evidence_sentence(item, everything)
    assert evidence_sentence(item, []) == f"{display_title(item.title)} is popular with people whose tastes overlap yours."
