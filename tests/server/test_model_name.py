"""The served model's name is asked once at start-up (state.learn_model_name): answers name it,
and with the backbone and evidence sentences nothing else asks the model server before the first
answer is written (streamed answers said "unknown" until a token count happened to ask)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from agent.llm.errors import LLMUnavailable
from scenebridge.server.state import learn_model_name


class Backend:
    def __init__(self, fails: bool = False):
        self.model, self.fails, self.asked = "unknown", fails, 0

    async def resolve_model(self) -> str:
        self.asked += 1
        if self.fails:
            raise LLMUnavailable("cannot reach the model server")
        self.model = "gemma-3-270m"
        return self.model


def test_the_name_is_learnt_through_the_guard_and_a_server_down_is_no_error():
    inner = Backend()
    asyncio.run(learn_model_name(SimpleNamespace(llm=SimpleNamespace(inner=inner))))
    assert inner.asked == 1 and inner.model == "gemma-3-270m"
    down = Backend(fails=True)
    asyncio.run(learn_model_name(SimpleNamespace(llm=down)))  # logged, not raised: learnt on a later call
    assert down.asked == 1 and down.model == "unknown"
    asyncio.run(learn_model_name(SimpleNamespace(llm=None)))  # no model server: nothing to ask
