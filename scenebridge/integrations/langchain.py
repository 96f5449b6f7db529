"""A LangChain tool and retriever that ask a running ``scenebridge serve`` for explained
recommendations, so an agent built on LangChain with a bigger model can use them.

    from scenebridge.integrations.langchain import ScenebridgeRecommendTool
    tool = ScenebridgeRecommendTool(base_url="http://127.0.0.1:8000/v1", api_key=KEY)
    agent = create_agent(ChatOpenAI(model=...), tools=[tool])

``ScenebridgeRecommendTool`` posts to ``/v1/recommendations``: the model fills typed arguments
(liked titles or a user id, the target scene, how many, titles to leave out) and reads back one
line per pick with its reason and the person's items it rests on; the full answer (scores,
evidence ids, ranker) rides along as the tool message's artifact. A request the service refuses
(an unknown title, a scene it does not hold) comes back as the service's message, for the model
to fix its call, not as an exception that ends the run.

``ScenebridgeRetriever`` takes a request in words (what a chat front-end sends) to
``/v1/chat/completions`` and returns one Document per pick: for chains that retrieve, then write.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field

DESCRIPTION = (
    "Recommend items in one scene (e.g. 'Sci-Fi' films) for a person, from what they liked in another (e.g. "
    "comedies), each with the real reason it was ranked, citing the person's own items. Give the titles they "
    "liked (or their user id) and the scene to recommend in.")


class RecommendArgs(BaseModel):
    """What the model fills; the service checks the rest (titles exist, the scene is held)."""

    likes: list[str] = Field(default_factory=list, max_length=50,
                             description="Titles the person liked, e.g. ['Groundhog Day', 'Annie Hall (1977)'].")
    user_id: str | None = Field(default=None, description="A known user's id instead of likes, e.g. '1m_1'.")
    target_scene: str = Field(description="The scene to recommend in, e.g. 'Sci-Fi' or 'Comedy'.")
    k: int = Field(default=5, ge=1, le=50, description="How many picks.")
    exclude: list[str] = Field(default_factory=list, max_length=50, description="Titles to leave out.")


class _Client(BaseModel):
    base_url: str = Field(description="The service's OpenAI base URL, e.g. http://127.0.0.1:8000/v1.")
    api_key: str | None = Field(default=None, description="scenebridge serve's key, when it has one.")
    timeout: float = Field(default=60.0, gt=0, description="Seconds per call (the service answers within 30).")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}"


def _refused(response: httpx.Response) -> ToolException:
    try:
        error = response.json()["error"]
        return ToolException(f"scenebridge refused the call ({error.get('param') or 'request'}): {error['message']}")
    except (ValueError, KeyError, TypeError):
        return ToolException(f"scenebridge answered HTTP {response.status_code}: {response.text[:300]}")


def _summary(answer: dict[str, Any]) -> str:
    """One line per pick, with its reason: what the calling model reads."""
    who = f"user {answer['user']}" if answer.get("user") else f"someone who likes {', '.join(answer['likes'])}"
    lines = [f"{len(answer['items'])} {answer['target_scene']} picks for {who}:"]
    for item in answer["items"]:
        why = f" - {item['explanation']}" if item.get("explanation") else ""
        lines.append(f"{item['rank']}. {item['item_id']}{why}")
    if answer.get("fallback"):
        lines.append(f"(ranked by candidate scores: {answer['fallback']})")
    return "\n".join(lines)


class ScenebridgeRecommendTool(_Client, BaseTool):
    name: str = "scenebridge_recommend"
    description: str = DESCRIPTION
    args_schema: type[BaseModel] = RecommendArgs
    response_format: str = "content_and_artifact"
    handle_tool_error: bool = True  # the service's message goes back to the model, which can fix its call

    def _body(self, arguments: dict[str, Any]) -> dict[str, Any]:
        body = RecommendArgs(**arguments).model_dump(exclude_none=True)
        return {**body, "explain": True}

    def _answer(self, response: httpx.Response) -> tuple[str, dict[str, Any]]:
        if response.status_code != 200:
            raise _refused(response)
        answer = response.json()
        return _summary(answer), answer

    def _run(self, **arguments: Any) -> tuple[str, dict[str, Any]]:
        response = httpx.post(self._url("recommendations"), json=self._body(arguments), headers=self._headers(),
                              timeout=self.timeout)
        return self._answer(response)

    async def _arun(self, **arguments: Any) -> tuple[str, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self._url("recommendations"), json=self._body(arguments),
                                         headers=self._headers())
        return self._answer(response)


class ScenebridgeRetriever(_Client, BaseRetriever):
    """A request in words -> one Document per pick (page_content: the title and its reason;
    metadata: item id, rank, score, evidence ids, the scene)."""

    model: str = Field(default="scenebridge", description="A model the service lists, e.g. 'scenebridge:sci-fi'.")
    k: int = Field(default=5, ge=1, le=50)

    def _body(self, query: str) -> dict[str, Any]:
        return {"model": self.model, "messages": [{"role": "user", "content": query}], "k": self.k}

    def _documents(self, response: httpx.Response) -> list[Document]:
        if response.status_code != 200:
            raise _refused(response)
        answer = response.json().get("recommendations")
        if answer is None:  # not a request for picks (a greeting, a title it could not read): nothing retrieved
            return []
        return [Document(page_content=f"{item['item_id']}: {item.get('explanation') or ''}".strip(": "),
                         metadata={"item_id": item["item_id"], "rank": item["rank"], "score": item["score"],
                                   "evidence": item.get("evidence", []), "scene": answer["target_scene"]})
                for item in answer["items"]]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        response = httpx.post(self._url("chat/completions"), json=self._body(query), headers=self._headers(),
                              timeout=self.timeout)
        return self._documents(response)

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun) -> list[Document]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self._url("chat/completions"), json=self._body(query),
                                         headers=self._headers())
        return self._documents(response)
