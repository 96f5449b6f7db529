"""Retrieval: item knowledge and user histories in a Chroma store (MiniLM embeddings)."""

from scenebridge.settings import offline_environment

# Before any Chroma client exists: Chroma reads its settings from the environment, and refuses a
# second client on a path whose settings differ from the first one's.
offline_environment()

from retrievers._embedding import MiniLMEmbeddingFunction, embed_texts
from retrievers.ingest import IngestReport, ingest
from retrievers.retrieval import Retriever
from retrievers.store import SceneStore

__all__ = ["IngestReport", "MiniLMEmbeddingFunction", "Retriever", "SceneStore", "embed_texts", "ingest"]
