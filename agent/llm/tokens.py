"""Token counts of text, with the served model's own tokenizer: what ``usage`` reports for the
text the service writes and the messages it reads.

The tokenizer is found on this machine from the served model's name: a packaged (or adapted)
model prepared under ``<cache_dir>/models/<name>/``, a model directory, or a Hugging Face model
already in the local cache (nothing is downloaded). It is loaded once, on first use, on a worker
thread. Where there is none (a remote ``--llm-url`` model whose files are not here, or no model
server at all) a count is an estimate, words and punctuation marks, and the log says so once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from agent.llm.models import ADAPTED, MODELS, model_dir

log = logging.getLogger("scenebridge.llm")

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")
RETRY_NAME_S = 60.0  # how long to count by estimate after the model server could not name its model


def estimate(text: str) -> int:
    """Words and punctuation marks: about one token each, when no tokenizer is at hand."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def tokenizer_dir(model: str | Path, models_dir: Path) -> Path | None:
    """The local directory with ``model``'s tokenizer: a model directory given by its path, or a
    packaged (or adapted) model's prepared directory under ``models_dir``; None when not here."""
    candidates = [Path(model).expanduser()]
    if str(model) in MODELS or str(model) in ADAPTED:
        candidates.insert(0, model_dir(str(model), Path(models_dir).parent))
    for directory in candidates:
        if directory.is_dir() and any((directory / name).is_file() for name in TOKENIZER_FILES):
            return directory
    return None


Encode = Callable[[list[str]], list[int]]  # texts -> their token counts, without special tokens


def load_tokenizer(model: str | Path, models_dir: Path) -> Encode | None:
    """A counter with ``model``'s tokenizer from this machine (never downloaded), or None. Blocking.

    A ``tokenizer.json`` is read by the Rust ``tokenizers`` library (about 1 s for gemma's 33 MB,
    parsed outside the GIL); transformers' AutoTokenizer parses the same file in Python, and held
    the GIL so long that /health, on the event loop, waited 2.2 s while it loaded. AutoTokenizer is
    left for tokenizers without that file (sentencepiece models in the Hugging Face cache)."""
    directory = tokenizer_dir(model, models_dir)
    if directory is not None and (directory / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(directory / "tokenizer.json"))
        return lambda texts: [len(e.ids) for e in fast.encode_batch(texts, add_special_tokens=False)]
    from transformers import AutoTokenizer

    try:
        slow = AutoTokenizer.from_pretrained(str(directory or model), local_files_only=True)
    except (OSError, ValueError) as exc:  # not in the local cache, or not a tokenizer
        log.debug("no tokenizer for %s here: %s", model, exc)
        return None
    return lambda texts: [len(ids) for ids in slow(texts, add_special_tokens=False)["input_ids"]]


class TokenCounter:
    """Counts tokens with the tokenizer of the model ``served()`` names (None: no model server).
    Safe to share: one load for every caller, counts on worker threads under one lock (a fast
    tokenizer must not be entered from two threads at once)."""

    def __init__(self, served: Callable[[], Awaitable[str | Path | None]], models_dir: Path):
        self._served = served
        self._models_dir = Path(models_dir)
        self._tokenizer: Encode | None = None
        self._settled = False  # loaded, or known to be missing: estimates from then on
        self._retry_at = 0.0  # the server did not name its model: ask again after this (monotonic)
        self._loading = asyncio.Lock()
        self._encoding = threading.Lock()
        self.source: str | None = None  # what the counts come from: the tokenizer's model, or None

    async def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text, without special tokens."""
        tokenizer = await self._tokenizer_or_none()
        if tokenizer is None:
            return [estimate(t) for t in texts]
        return await asyncio.to_thread(self._encode, tokenizer, list(texts))

    def _encode(self, tokenizer: Encode, texts: list[str]) -> list[int]:
        if not texts:
            return []
        with self._encoding:
            return tokenizer(texts)

    async def _tokenizer_or_none(self) -> Encode | None:
        if self._settled or time.monotonic() < self._retry_at:
            return self._tokenizer
        async with self._loading:
            if self._settled or time.monotonic() < self._retry_at:
                return self._tokenizer
            try:
                model = await self._served()
            except Exception as exc:  # noqa: BLE001 - the model server is down: estimate for now, ask later
                self._retry_at = time.monotonic() + RETRY_NAME_S
                log.info("usage is estimated for now: the model server did not name its model (%s)", exc)
                return None
            if model is not None:
                self._tokenizer = await asyncio.to_thread(load_tokenizer, model, self._models_dir)
            self._settled = True
            if self._tokenizer is not None:
                self.source = str(model)
                log.info("usage counts tokens with the tokenizer of %s", model)
            elif model is None:
                log.warning("usage is estimated (words and punctuation marks): no model server, so no tokenizer")
            else:
                log.warning("usage is estimated (words and punctuation marks): no tokenizer for the served "
                            "model %s on this machine (a remote model? prepare it here or put it in the "
                            "Hugging Face cache to count exactly)", model)
            return self._tokenizer
