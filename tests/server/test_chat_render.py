"""The answer's footer names the model only where it did work: it ranked (no fallback) or it
worded an explanation. The backbone with evidence sentences calls no model, so none is named."""

from __future__ import annotations

import pytest

from agent.requests import Recommendation, RecommendedItem
from scenebridge.server.chat.render import footer


def result(ranker: str, *, fallback: str | None = None, source: str = "evidence") -> Recommendation:
    items = [RecommendedItem(item_id="A", title="A", rank=1, score=1.0, explanation="why", evidence=[],
                             explanation_source=source)]
    return Recommendation(user="u1", target_scene="Sci-Fi", source_scene="Comedy", ranker=ranker, items=items,
                          timings={}, candidates=20, model="gemma-3-270m", fallback=fallback)


@pytest.mark.parametrize(("made", "named"), [
    (result("backbone"), False),
    (result("backbone", source="llm"), True),  # the model worded an explanation
    (result("rerank"), True),
    (result("rerank", fallback="the model server is not answering"), False),
])
def test_the_footer_names_the_model_only_where_it_did_work(made, named):
    text = footer(made, [])
    assert ("gemma-3-270m" in text) is named
    assert "20 candidates (" in text and made.ranker in text
