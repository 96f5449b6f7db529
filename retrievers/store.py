"""The Chroma store: one directory, any number of datasets.

Each dataset has two collections: ``<dataset>.items`` (item knowledge, embedded with MiniLM,
scene in the metadata) and ``<dataset>.histories`` (one record per user and scene: the
chronological history as the document, the user's taste profile in that scene as the embedding:
Chroma needs one per record, and this one keeps the collection searchable by taste, though no
retrieval call reads it today).
A manifest file next to Chroma's own records which scene split each dataset was ingested with
and whether the ingest finished, so a half-built store is refused instead of silently used.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import chromadb
from pydantic import BaseModel, Field

from core.errors import NotFoundError, StoreError
from retrievers._embedding import MiniLMEmbeddingFunction

MANIFEST = "scenebridge-manifest.json"
# Chroma's defaults (ef 100, 16 neighbours) missed the true nearest item for some free-text
# queries on a 1.7k-item catalogue; these cost little at catalogue sizes up to ~100k.
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 400, "max_neighbors": 32}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,60}[A-Za-z0-9]$")


class StoreInfo(BaseModel):
    """One dataset's manifest entry: which scene split it was ingested with, what it holds, and
    whether the ingest finished (a store read before then is refused)."""

    complete: bool = False
    split: str = Field(default="", description="The scene split's key (genres of each scene).")
    scenes: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, description="The source scene named at ingest, if any.")
    target: str | None = None
    items: int = 0
    items_in_scenes: int = 0
    dropped_items: int = Field(default=0, description="Items in both scenes of the pair, left out.")
    histories: int = 0
    users: int = 0
    ingested_at: str | None = None


def check_dataset_name(name: str) -> str:
    if not _NAME.match(name):
        raise StoreError(
            f"invalid dataset name {name!r}",
            hint="use 2-62 letters, digits, '-' or '_', starting and ending with a letter or digit",
            param="name",
        )
    return name


class SceneStore:
    def __init__(self, path: Path | str, *, create: bool = False):
        self.path = Path(path).expanduser()
        if not create and not (self.path / MANIFEST).is_file():
            raise StoreError(
                f"no scenebridge store at {self.path}",
                hint="ingest one first: scenebridge ingest --dataset ml-1m --source Comedy "
                "--target Sci-Fi (or pass --store DIR)",
                param="store",
            )
        self.path.mkdir(parents=True, exist_ok=True)
        # Default settings (telemetry is off through ANONYMIZED_TELEMETRY, see settings.py):
        # Chroma refuses a second client on one path with different settings.
        self.client = chromadb.PersistentClient(path=str(self.path))
        self.embedding_function = MiniLMEmbeddingFunction()
        if not (self.path / MANIFEST).is_file():
            self._write_manifest({"datasets": {}})

    # -- manifest ---------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text())

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        # Write-then-rename: a kill never leaves a torn manifest.
        tmp = self.path / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(tmp, self.path / MANIFEST)

    def datasets(self) -> dict[str, StoreInfo]:
        return {name: StoreInfo.model_validate(entry) for name, entry in self._read_manifest()["datasets"].items()}

    def record(self, dataset: str, **fields: Any) -> None:
        """Update a dataset's manifest entry (``StoreInfo`` fields, checked)."""
        manifest = self._read_manifest()
        entry = StoreInfo.model_validate({**manifest["datasets"].get(dataset, {}), **fields})
        manifest["datasets"][dataset] = entry.model_dump(mode="json")
        self._write_manifest(manifest)

    def info(self, dataset: str | None = None) -> tuple[str, StoreInfo]:
        """The manifest entry of a finished dataset; with one dataset, ``None`` picks it."""
        datasets = self.datasets()
        if dataset is None:
            if len(datasets) != 1:
                raise StoreError(
                    f"the store at {self.path} holds {len(datasets)} datasets",
                    hint=f"choose one with --dataset ({', '.join(datasets) or 'none yet'})",
                    param="dataset",
                )
            dataset = next(iter(datasets))
        if dataset not in datasets:
            raise NotFoundError("dataset", dataset, hint=f"this store holds: {', '.join(datasets) or 'nothing'}")
        entry = datasets[dataset]
        if not entry.complete:
            raise StoreError(
                f"the ingest of {dataset!r} into {self.path} did not finish",
                hint="run the same ingest command again: it resumes where it stopped",
                param="store",
            )
        return dataset, entry

    # -- collections ------------------------------------------------------------------------
    def items(self, dataset: str) -> chromadb.Collection:
        return self._collection(f"{check_dataset_name(dataset)}.items")

    def histories(self, dataset: str) -> chromadb.Collection:
        return self._collection(f"{check_dataset_name(dataset)}.histories")

    def _collection(self, name: str) -> chromadb.Collection:
        return self.client.get_or_create_collection(
            name,
            embedding_function=self.embedding_function,
            configuration={"hnsw": HNSW},
        )

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
