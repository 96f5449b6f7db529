"""Retrieval: item knowledge and user histories in a Chroma store (MiniLM embeddings)."""

from retrievers._embedding import MiniLMEmbeddingFunction, embed_texts
from retrievers.ingest import IngestReport, ingest
from retrievers.retrieval import Retriever
from retrievers.store import SceneStore

__all__ = ["IngestReport", "MiniLMEmbeddingFunction", "Retriever", "SceneStore", "embed_texts", "ingest"]
