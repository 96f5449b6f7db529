"""What ragas' Faithfulness holds an explanation to (evals/explanations.evidence_facts): the
evidence it was written from, every count and rating in words, not only the items' documents
(which hold none of them: a true sentence was scored unfaithful against those)."""

from __future__ import annotations

import re

from agent.explain import evidence_sentence
from evals.explanations import evidence_facts
from tests.agent.test_explanation_checks import evidence  # noqa: F401 - the fixture


def numbers(text: str) -> set[float]:
    return {float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def test_the_facts_state_every_number_and_rating_of_the_evidence(evidence):  # noqa: F811 - the fixture
    facts = " ".join(evidence_facts(evidence))
    shares = {float(round(100 * c.share)) for c in evidence.contributors}
    assert evidence.numbers() - shares - {evidence.top_rating} <= numbers(facts)
    for title in ("Contact (1997)", "Groundhog Day (1993)", "Annie Hall (1977)"):
        assert title in facts
    assert "The user rated Groundhog Day (1993) 5." in facts and "Drama, Sci-Fi" in facts
    # What the evidence sentence states (years aside) is in the facts it is judged against.
    sentence = evidence_sentence(evidence)
    assert numbers(sentence) - {1977.0, 1993.0, 1997.0} <= numbers(facts)


def test_a_named_like_has_no_rating_to_state(evidence):  # noqa: F811 - the fixture
    named = evidence.model_copy(update={"contributors": [c.model_copy(update={"rating": None})
                                                         for c in evidence.contributors]})
    facts = evidence_facts(named)
    assert "The user said they liked Annie Hall (1977)." in facts and not any("rated Annie Hall (1977) 4." in f
                                                                               for f in facts)
