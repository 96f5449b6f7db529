"""langchain's ChatOpenAI against the endpoint, as an application built on it would call it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

pytestmark = [pytest.mark.slow, pytest.mark.live_llm]


@pytest.fixture(scope="module")
def chat(server):
    return ChatOpenAI(base_url=server.base_url, api_key=server.key, model="scenebridge:sci-fi",
                      timeout=180, max_retries=0, extra_body={"explain": False, "k": 3})


def test_invoke_and_a_follow_up(chat):
    first = chat.invoke([HumanMessage("I loved Groundhog Day and Annie Hall")])
    assert isinstance(first, AIMessage)
    lines = [line for line in first.content.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3 and "Sci-Fi" in first.content
    assert first.response_metadata["model_name"] == "scenebridge:sci-fi"
    assert first.usage_metadata["total_tokens"] > 0
    follow = chat.invoke([HumanMessage("I loved Groundhog Day and Annie Hall"), first, HumanMessage("more")])
    again = [line for line in follow.content.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(again) == 3 and not {line[3:] for line in again} & {line[3:] for line in lines}


def test_stream(chat):
    pieces = list(chat.stream("I loved Clerks and Clueless"))
    text = "".join(p.content for p in pieces)
    assert len(pieces) > 3 and text.startswith("Here are 3 Sci-Fi picks")
