"""Token counts (agent/llm/tokens.py): the served model's own tokenizer, found on this machine by
the model's name and loaded once; an estimate, said once in the log, where there is none."""

from __future__ import annotations

import asyncio
import logging

import pytest

from agent.llm import tokens
from agent.llm.models import DEFAULT_MODEL, prepare_model
from agent.llm.tokens import TokenCounter, estimate, tokenizer_dir
from core.settings import get_settings

TEXT = "Here are 5 Sci-Fi picks for someone who likes **Groundhog Day** (1993):"


@pytest.fixture(scope="module")
def default_model_dir():
    """The packaged default model, prepared (at once when it already is)."""
    return prepare_model(DEFAULT_MODEL, get_settings().cache_dir, progress=False)


def counter(served, models_dir=None) -> tuple[TokenCounter, list[int]]:
    asked: list[int] = []

    async def name():
        asked.append(1)
        if isinstance(served, Exception):
            raise served
        return served

    return TokenCounter(name, models_dir or get_settings().models_dir), asked


def test_counts_are_the_served_models_tokenizer(default_model_dir):
    from transformers import AutoTokenizer

    assert tokenizer_dir(DEFAULT_MODEL, get_settings().models_dir) == default_model_dir
    reference = AutoTokenizer.from_pretrained(default_model_dir)
    expected = [len(reference(t, add_special_tokens=False)["input_ids"]) for t in (TEXT, "", "科幻片")]

    async def go():
        count, asked = counter(DEFAULT_MODEL)
        results = await asyncio.gather(*(count.count([TEXT, "", "科幻片"]) for _ in range(4)))
        return count, asked, results

    count, asked, results = asyncio.run(go())
    assert all(r == expected for r in results) and expected[0] != estimate(TEXT)  # tokens, not words
    assert len(asked) == 1 and count.source == DEFAULT_MODEL  # loaded once for every caller
    assert asyncio.run(count.count([])) == []


def test_a_model_directory_given_by_path_counts_with_its_tokenizer(default_model_dir):
    count, _ = counter(str(default_model_dir))
    assert asyncio.run(count.count([TEXT])) == asyncio.run(counter(DEFAULT_MODEL)[0].count([TEXT]))


def test_without_a_tokenizer_here_it_estimates_and_says_so_once(tmp_path, caplog):
    count, asked = counter("some-org/remote-only-model", tmp_path / "models")
    with caplog.at_level(logging.INFO, logger="scenebridge.llm"):
        assert asyncio.run(count.count([TEXT])) == [estimate(TEXT)]
        assert asyncio.run(count.count(["two words"])) == [2]
    warned = [r for r in caplog.records if "usage is estimated" in r.message]
    assert len(warned) == 1 and "remote-only-model" in warned[0].message and len(asked) == 1
    assert count.source is None


def test_no_model_server_estimates():
    count, _ = counter(None)
    assert asyncio.run(count.count(["Hello, world"])) == [3]


def test_a_server_that_cannot_name_its_model_is_asked_again_later(monkeypatch, default_model_dir):
    count, asked = counter(TimeoutError("no answer"))
    assert asyncio.run(count.count([TEXT])) == [estimate(TEXT)]
    assert asyncio.run(count.count([TEXT])) == [estimate(TEXT)] and len(asked) == 1  # not at once

    monkeypatch.setattr(tokens, "RETRY_NAME_S", 0.0)
    answers: list[object] = [TimeoutError("no answer"), DEFAULT_MODEL]

    async def name():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    count = TokenCounter(name, get_settings().models_dir)
    assert asyncio.run(count.count([TEXT])) == [estimate(TEXT)]
    assert asyncio.run(count.count([TEXT])) != [estimate(TEXT)] and count.source == DEFAULT_MODEL
