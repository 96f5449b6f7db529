"""The Chroma store: one directory, any number of datasets.

Each dataset has two collections: ``<dataset>.items`` (item knowledge, embedded with MiniLM,
scene in the metadata) and ``<dataset>.histories`` (one record per user and scene: the
chronological history as the document, the user's taste profile in that scene as the embedding:
Chroma needs one per record, and this one keeps the collection searchable by taste, though no
retrieval call reads it today).
A manifest records which scene split each dataset was ingested with and whether the ingest
finished, so a half-built store is refused instead of silently used.

Chroma runs embedded on the store directory (the default), or as a server (``chroma_url``, the
``--chroma-url`` option: ``chroma run --path DIR``) that several serving processes share. With a
server, the manifest lives in Chroma beside the collections it describes (every process reading
the server must agree on what it holds, and an ingest from any machine must update it), while the
store directory keeps only what this machine derives from the collections: fitted backbones and
their choice (keyed by the data's fingerprint, so never read stale; refitted where missing) and
fusion weights.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NoReturn

import chromadb
from chromadb.errors import NotFoundError as ChromaNotFound
from pydantic import BaseModel, Field

from core.errors import NotFoundError, StoreError
from core.settings import get_settings
from retrievers._chroma import http_client, persistent_client
from retrievers._embedding import MiniLMEmbeddingFunction

MANIFEST = "scenebridge-manifest.json"
# On a Chroma server: the manifest's JSON in the metadata of a collection that holds no records.
MANIFEST_COLLECTION, MANIFEST_KEY = "scenebridge-manifest", "manifest"
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
    """``chroma_url`` (``http://HOST:PORT``): keep the collections on that Chroma server; ``None``
    takes the settings' (SCENEBRIDGE_CHROMA_URL), ``""`` forces the embedded store."""

    def __init__(self, path: Path | str, *, create: bool = False, chroma_url: str | None = None):
        self.path = Path(path).expanduser()
        self.url = (get_settings().chroma_url if chroma_url is None else chroma_url) or None
        if self.url is None:
            if not create and not (self.path / MANIFEST).is_file():
                self._missing()
            self.path.mkdir(parents=True, exist_ok=True)
            self.client = persistent_client(self.path)
        else:
            self.client = http_client(self.url)
        self.embedding_function = MiniLMEmbeddingFunction()
        if not self._has_manifest():
            if not create:
                self._missing()
            self._write_manifest({"datasets": {}})

    @property
    def location(self) -> str:
        """Where the collections are: the server's URL, or the store directory."""
        return self.url or str(self.path)

    def _missing(self) -> NoReturn:
        command = "scenebridge ingest --dataset ml-1m --source Comedy --target Sci-Fi"
        raise StoreError(
            f"no scenebridge store at {self.location}",
            hint=f"ingest one into this server first: {command} --chroma-url {self.url}" if self.url
            else f"ingest one first: {command} (or pass --store DIR)",
            param="chroma_url" if self.url else "store",
        )

    # -- manifest ---------------------------------------------------------------------------
    def _manifest_collection(self, create: bool = False) -> chromadb.Collection | None:
        if create:
            return self.client.get_or_create_collection(MANIFEST_COLLECTION,
                                                        embedding_function=self.embedding_function)
        try:
            return self.client.get_collection(MANIFEST_COLLECTION, embedding_function=self.embedding_function)
        except ChromaNotFound:
            return None

    def _has_manifest(self) -> bool:
        if self.url is None:
            return (self.path / MANIFEST).is_file()
        collection = self._manifest_collection()
        return collection is not None and MANIFEST_KEY in (collection.metadata or {})

    def _read_manifest(self) -> dict[str, Any]:
        if self.url is None:
            return json.loads((self.path / MANIFEST).read_text())
        collection = self._manifest_collection()  # fetched again: another process may have written it
        if collection is None or MANIFEST_KEY not in (collection.metadata or {}):
            self._missing()
        return json.loads(collection.metadata[MANIFEST_KEY])

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, sort_keys=True)
        if self.url is not None:  # one call: the metadata is replaced whole
            self._manifest_collection(create=True).modify(metadata={MANIFEST_KEY: text})
            return
        # Write-then-rename: a kill never leaves a torn manifest.
        tmp = self.path / f".{MANIFEST}.tmp"
        tmp.write_text(text)
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
                    f"the store at {self.location} holds {len(datasets)} datasets",
                    hint=f"choose one with --dataset ({', '.join(datasets) or 'none yet'})",
                    param="dataset",
                )
            dataset = next(iter(datasets))
        if dataset not in datasets:
            raise NotFoundError("dataset", dataset, hint=f"this store holds: {', '.join(datasets) or 'nothing'}")
        entry = datasets[dataset]
        if not entry.complete:
            raise StoreError(
                f"the ingest of {dataset!r} into {self.location} did not finish",
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

    def size_bytes(self) -> int | None:
        """Bytes of the embedded store on disk; ``None`` for a server's (not ours to measure)."""
        if self.url is not None:
            return None
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
