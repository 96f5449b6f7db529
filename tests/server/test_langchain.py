"""langchain's ChatOpenAI against the endpoint, as an application built on it would call it; and
scenebridge's own LangChain tool and retriever against the running service."""

from __future__ import annotations

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

from scenebridge.integrations.langchain import ScenebridgeRecommendTool, ScenebridgeRetriever

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


# -- the tool and the retriever (scenebridge/integrations/langchain.py) ---------------------------
class ScriptedModel(GenericFakeChatModel):
    """Stands in for the bigger model an application would bind the tool to: it asks for the
    tool with the arguments scripted, then answers. What is tested is the tool, against the real
    service, inside LangChain's own agent loop."""

    def bind_tools(self, tools, **kwargs):
        return self


@pytest.fixture(scope="module")
def tool(server):
    return ScenebridgeRecommendTool(base_url=server.base_url, api_key=server.key)


def test_the_tool_answers_as_the_endpoint(tool, server):
    call = {"name": tool.name, "type": "tool_call", "id": "call_1",
            "args": {"likes": ["Groundhog Day", "Annie Hall"], "target_scene": "Sci-Fi", "k": 3}}
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage) and message.status == "success"
    direct = httpx.post(f"{server.base_url}/recommendations", headers=server.headers, timeout=180,
                        json={"likes": ["Groundhog Day", "Annie Hall"], "target_scene": "Sci-Fi", "k": 3}).json()
    assert [i["item_id"] for i in message.artifact["items"]] == [i["item_id"] for i in direct["items"]]
    lines = message.content.splitlines()
    assert lines[0].startswith("3 Sci-Fi picks for someone who likes")
    assert [line.split(" - ")[0] for line in lines[1:]] == [f"{i['rank']}. {i['item_id']}" for i in direct["items"]]
    assert all(" - " in line for line in lines[1:])  # each pick with its reason


def test_a_refused_call_goes_back_to_the_model(tool):
    message = tool.invoke({"name": tool.name, "type": "tool_call", "id": "call_2",
                           "args": {"likes": ["Groundhog Day"], "target_scene": "Westerns"}})
    assert message.status == "error" and "target_scene" in message.content, message.content


def test_the_args_schema_is_an_openai_tool(tool):
    schema = convert_to_openai_tool(tool)["function"]
    assert schema["name"] == "scenebridge_recommend"
    assert schema["parameters"]["required"] == ["target_scene"]
    assert schema["parameters"]["properties"]["k"]["maximum"] == 50


def test_an_agent_calls_the_tool(tool):
    model = ScriptedModel(messages=iter([
        AIMessage("", tool_calls=[{"name": tool.name, "id": "call_3",
                                   "args": {"likes": ["Clerks"], "target_scene": "Sci-Fi", "k": 2}}]),
        AIMessage("Two picks for you."),
    ]))
    state = create_agent(model, tools=[tool]).invoke({"messages": [HumanMessage("I liked Clerks: any sci-fi?")]})
    used = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert len(used) == 1 and used[0].status == "success" and len(used[0].artifact["items"]) == 2
    assert state["messages"][-1].content == "Two picks for you."


def test_the_retriever_returns_one_document_per_pick(server):
    retriever = ScenebridgeRetriever(base_url=server.base_url, api_key=server.key, model="scenebridge:sci-fi", k=3)
    documents = retriever.invoke("I loved Groundhog Day and Annie Hall")
    assert [d.metadata["rank"] for d in documents] == [1, 2, 3]
    assert all(d.metadata["scene"] == "Sci-Fi" and d.metadata["evidence"] for d in documents)
    assert all(d.page_content.startswith(d.metadata["item_id"]) for d in documents)
    assert retriever.invoke("hi!") == []  # small talk: nothing retrieved
