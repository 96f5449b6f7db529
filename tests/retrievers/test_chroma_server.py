"""The store on a Chroma server (``chroma run``, the command chromadb installs) instead of
embedded: ML-100k Comedy -> Sci-Fi ingested into a real server, then the retrieval calls, a
recommendation and the OpenAI-compatible app answer as over the session's embedded store. Two
serving processes share the server: an app in this process, and ``scenebridge serve --chroma-url``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import psutil
import pytest
from fastapi.testclient import TestClient

from core.errors import StoreError
from core.settings import get_settings
from retrievers import Retriever, SceneStore, fetch_records, ingest
from retrievers.store import MANIFEST
from scenebridge.server.launcher import free_port, launch, stop
from serve import create_app
from tests.conftest import SOURCE, TARGET

pytestmark = pytest.mark.store

START_TIMEOUT = 60.0
USER = "100k_1"
ASK = [{"role": "user", "content": "I loved Groundhog Day and Annie Hall, what sci-fi should I watch?"}]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """``chroma run`` on a free loopback port, ready once its heartbeat answers; its process tree
    is stopped at the end."""
    chroma = Path(sys.executable).parent / "chroma"
    assert chroma.is_file(), f"{chroma} is missing: it comes with chromadb (requirements/app.lock)"
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "chroma.log").open("w") as log:
        process = subprocess.Popen([str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
                                    "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"chroma run exited:\n{(folder / 'chroma.log').read_text()[-2000:]}"
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"chroma run did not answer within {START_TIMEOUT:.0f} s"
            time.sleep(0.2)
        yield url
    finally:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        for member in tree:
            member.terminate()
        for member in psutil.wait_procs(tree, timeout=10)[1]:
            member.kill()
        process.wait()


@pytest.fixture(scope="module")
def served(chroma_url, store_path, ml100k, ml100k_split, tmp_path_factory):
    """ML-100k ingested into the server; the store directory (this machine's state) starts with a
    copy of the embedded store's fitted backbone, which is read only under the fingerprint of the
    data it was fitted on: the server store uses it only if it holds the same data."""
    from agent.candidates import load_scene_data
    from agent.selection import ensure_backbone

    state = tmp_path_factory.mktemp("server-state")
    report = ingest(SceneStore(state, create=True, chroma_url=chroma_url), ml100k, ml100k_split, progress=False,
                    source=SOURCE, target=TARGET)
    ensure_backbone(load_scene_data(Retriever(SceneStore(store_path, chroma_url=""))), SOURCE, TARGET,
                    progress=False)
    shutil.copytree(store_path / "backbone", state / "backbone")
    return state, report


def fits(state: Path) -> list[str]:
    """The fingerprints a store directory holds fitted backbones for."""
    return sorted(p.name for p in (state / "backbone" / "ml-100k").iterdir())


@pytest.fixture(scope="module")
def embedded_answer(store_path, served):
    """The recommendation over the embedded store (module scope: made before ``on_server`` sets
    the server's URL for everything that opens a store)."""
    from agent.requests import RecommendRequest
    from agent.service import open_service

    async def answer():
        async with open_service(store_path, use_llm=False) as service:
            return await service.recommend(RecommendRequest(user_id=USER, target_scene=TARGET, k=5))

    assert get_settings().chroma_url is None
    return asyncio.run(answer())


@pytest.fixture
def on_server(chroma_url, served, monkeypatch):
    """SCENEBRIDGE_CHROMA_URL set, as ``--chroma-url`` sets it, for what opens the store itself."""
    monkeypatch.setenv("SCENEBRIDGE_CHROMA_URL", chroma_url)
    get_settings.cache_clear()
    yield served[0]
    get_settings.cache_clear()


def shown(items) -> list[tuple]:
    return [(i.item_id, i.rank, pytest.approx(i.score, abs=1e-5), i.explanation, i.evidence) for i in items]


def test_ingest_writes_the_embedded_stores_records_to_the_server(served, chroma_url, store_path, ml100k,
                                                                 ml100k_split):
    state, report = served
    assert report.items_embedded == report.items_total == len(ml100k.items)
    embedded, remote = SceneStore(store_path, chroma_url=""), SceneStore(state, chroma_url=chroma_url)
    assert remote.info("ml-100k")[1].model_dump(exclude={"ingested_at"}) == \
        embedded.info("ml-100k")[1].model_dump(exclude={"ingested_at"})
    assert remote.location == chroma_url and remote.size_bytes() is None
    assert not (state / MANIFEST).exists()  # what the server holds is described on the server
    (local_histories, local_items), (histories, items) = fetch_records(embedded, "ml-100k"), fetch_records(
        remote, "ml-100k")
    assert np.array_equal(items.ids, local_items.ids) and np.array_equal(items.scenes, local_items.scenes)
    assert np.allclose(items.vectors, local_items.vectors, atol=1e-6)
    for name in ("entry_users", "item_ids", "timestamps"):
        assert np.array_equal(getattr(histories, name), getattr(local_histories, name)), name
    assert np.array_equal(histories.ratings, local_histories.ratings, equal_nan=True)
    again = ingest(remote, ml100k, ml100k_split, progress=False, source=SOURCE, target=TARGET)
    assert not again.changed  # idempotent over HTTP too


def test_retrieval_answers_as_the_embedded_store(served, chroma_url, retriever):
    remote = Retriever(SceneStore(served[0], chroma_url=chroma_url))
    assert remote.history(USER, SOURCE) == retriever.history(USER, SOURCE)
    for ask in (lambda r: r.similar("Groundhog Day (1993)", scene=TARGET, k=8),
                lambda r: r.search("a comedy about a day that repeats", k=5)):
        assert [(s.item.item_id, pytest.approx(s.score, abs=1e-5)) for s in ask(remote)] == \
            [(s.item.item_id, s.score) for s in ask(retriever)]


def test_a_recommendation_is_the_embedded_stores(on_server, embedded_answer):
    from agent.requests import RecommendRequest
    from agent.service import open_service

    async def answer():
        async with open_service(on_server, use_llm=False) as service:
            assert service.retriever.store.location == get_settings().chroma_url
            return await service.recommend(RecommendRequest(user_id=USER, target_scene=TARGET, k=5))

    copied = fits(on_server)
    result = asyncio.run(answer())
    assert result.ranker == embedded_answer.ranker == "backbone"
    assert shown(result.items) == shown(embedded_answer.items)
    assert fits(on_server) == copied  # the server's data has the embedded store's fingerprint: nothing refitted


def test_two_apps_on_one_chroma_server_answer_the_same(on_server, chroma_url, embedded_answer, monkeypatch,
                                                       tmp_path):
    """This process's app and a ``scenebridge serve --chroma-url`` process (the flag alone names the
    server), both over one Chroma server, asked through the official client: both answer as the
    embedded store does."""
    monkeypatch.delenv("SCENEBRIDGE_CHROMA_URL")
    process, url = launch(["--store", str(on_server), "--chroma-url", chroma_url, "--no-llm", "--explanations",
                           "evidence", "--log-level", "warning"], tmp_path / "serve.log", timeout=180)
    monkeypatch.setenv("SCENEBRIDGE_CHROMA_URL", chroma_url)
    get_settings.cache_clear()
    answers = []
    try:
        app = create_app(store_dir=on_server, use_llm=False, explanations="evidence")
        with TestClient(app) as local, httpx.Client(base_url=url, timeout=120) as remote:
            for http in (local, remote):
                client = openai.OpenAI(base_url=f"{str(http.base_url).rstrip('/')}/v1", api_key="unused",
                                       http_client=http, max_retries=0)
                assert [m.id for m in client.models.list().data] == [
                    "scenebridge", "scenebridge:comedy", "scenebridge:sci-fi"]
                chat = client.chat.completions.create(model="scenebridge", messages=ASK, extra_body={"k": 3})
                asked = http.post("/v1/recommendations", json={"user_id": USER, "target_scene": TARGET, "k": 5})
                answers.append((chat.choices[0].message.content, chat.model_extra["recommendations"]["items"],
                                asked.json()["items"]))
    finally:
        stop(process)
    (text, chat_items, items), (other_text, other_chat_items, other_items) = answers
    assert text == other_text and chat_items == other_chat_items and len(chat_items) == 3
    assert items == other_items
    assert [(i["item_id"], pytest.approx(i["score"], abs=1e-5)) for i in items] == \
        [(i.item_id, i.score) for i in embedded_answer.items]


@pytest.mark.parametrize("url", ["localhost:8000", "http://127.0.0.1:8000/api/v2", "http://127.0.0.1:99999"])
def test_a_malformed_url_is_refused_naming_the_option(url, tmp_path):
    with pytest.raises(StoreError) as error:
        SceneStore(tmp_path, chroma_url=url)
    assert "--chroma-url" in error.value.message and "SCENEBRIDGE_CHROMA_URL" in error.value.message
    assert "http://127.0.0.1:8000" in error.value.hint and error.value.param == "chroma_url"


def test_no_server_says_how_to_start_one(tmp_path):
    port = free_port()
    with pytest.raises(StoreError) as error:
        SceneStore(tmp_path, chroma_url=f"http://127.0.0.1:{port}")
    assert f"cannot reach the Chroma server at http://127.0.0.1:{port}" in error.value.message
    assert f"chroma run --path DIR --host 127.0.0.1 --port {port}" in error.value.hint
    assert not any(tmp_path.iterdir())  # nothing written locally
