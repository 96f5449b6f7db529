"""Retrieval: item knowledge and user histories in a Chroma store (MiniLM embeddings)."""

from core.settings import offline_environment

# Before any Chroma client exists: Chroma reads its settings from the environment, and refuses a
# second client on a path whose settings differ from the first one's.
offline_environment()

from retrievers._embedding import MiniLMEmbeddingFunction, embed_texts
from retrievers._records import item_document
from retrievers.arrays import HistoryRecords, ItemRecords, fetch_records
from retrievers.ingest import IngestReport, ingest
from retrievers.retrieval import Retriever
from retrievers.store import SceneStore, StoreInfo

__all__ = ["HistoryRecords", "IngestReport", "ItemRecords", "MiniLMEmbeddingFunction", "Retriever", "SceneStore",
           "StoreInfo", "embed_texts", "fetch_records", "ingest", "item_document"]
