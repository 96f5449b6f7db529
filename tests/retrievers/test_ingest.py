"""Ingest against a real Chroma store: idempotent, resumable after a kill, relabels scenes."""

import os
import signal
import subprocess
import sys
import time

import chromadb
import pytest

from core.data import split_by_genre
from core.errors import StoreError
from retrievers import Retriever, SceneStore, ingest


def expected_histories(dataset, split) -> int:
    frame = split.interactions(dataset)
    return len(frame.groupby(["user_id", "scene"]))


def test_store_holds_exact_counts(store_path, ml100k, ml100k_split):
    store = SceneStore(store_path)
    assert store.items("ml-100k").count() == len(ml100k.items)
    assert store.histories("ml-100k").count() == expected_histories(ml100k, ml100k_split)
    assert store.datasets()["ml-100k"].complete is True


def test_second_ingest_writes_nothing(store_path, ml100k, ml100k_split):
    """The session's ingest again, source and target included (without them the manifest would
    lose the store's source and target for every later test of the session)."""
    store = SceneStore(store_path)
    before = store.datasets()["ml-100k"]
    report = ingest(store, ml100k, ml100k_split, progress=False, source="Comedy", target="Sci-Fi")
    assert not report.changed
    assert report.items_embedded == report.histories_written == 0
    after = store.datasets()["ml-100k"]
    assert after.model_dump(exclude={"ingested_at"}) == before.model_dump(exclude={"ingested_at"})
    assert (after.source, after.target) == ("Comedy", "Sci-Fi")


def test_reopened_store_embeds_queries_without_being_told_how(store_path):
    """The MiniLM function is registered: a plain Chroma client rebuilds it from the config."""
    import retrievers  # noqa: F401  (registers the embedding function)

    client = chromadb.PersistentClient(path=str(store_path))
    collection = client.get_collection("ml-100k.items")
    result = collection.query(query_texts=["a space opera with jedi knights"], n_results=5)
    assert "Star Wars (1977)" in result["ids"][0]


@pytest.mark.store  # a store of its own, embedded twice over
@pytest.mark.slow
def test_killed_ingest_resumes_to_exact_counts(tmp_path, ml100k, ml100k_split):
    store_dir = tmp_path / "store"
    command = [sys.executable, "-m", "scenebridge.cli", "ingest", "--dataset", "ml-100k",
               "--source", "Comedy", "--target", "Sci-Fi", "--store", str(store_dir)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, bufsize=1,
                               env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 120
    progress = ""
    # Kill it once the first batches are written, in the middle of embedding.
    while time.monotonic() < deadline:
        progress += process.stderr.read(1)
        if "512/" in progress:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert "512/" in progress, progress[-500:]

    store = SceneStore(store_dir)
    assert 0 < store.items("ml-100k").count() < len(ml100k.items)
    with pytest.raises(StoreError, match="did not finish"):
        Retriever(store)

    report = ingest(store, ml100k, ml100k_split, progress=False)
    assert 0 < report.items_embedded <= len(ml100k.items) - 512  # nothing embedded twice
    assert store.items("ml-100k").count() == len(ml100k.items)
    assert store.histories("ml-100k").count() == expected_histories(ml100k, ml100k_split)
    assert not ingest(store, ml100k, ml100k_split, progress=False).changed

    # Another scene pair of the same dataset relabels items without embedding them again.
    other = split_by_genre(ml100k, "Romance", "Action")
    report = ingest(store, ml100k, other, progress=False)
    assert report.items_embedded == 0 and report.items_relabelled > 0
    retriever = Retriever(store)
    assert retriever.scenes == ["Romance", "Action"]
    assert store.histories("ml-100k").count() == expected_histories(ml100k, other)
    sleepless, titanic = retriever.items(["Sleepless in Seattle (1993)", "Titanic (1997)"])
    assert sleepless.scene == "Romance"
    assert titanic.scene is None  # Action and Romance: in both scenes, so dropped
