"""The console script, run as a user runs it."""

import json
import os
import subprocess
import sys

import pytest


def run(*args, store=None, check=True):
    command = [sys.executable, "-m", "scenebridge.cli", *args]
    if store is not None:
        command += ["--store", str(store)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "200"})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_help_lists_the_commands():
    out = run("--help").stdout
    for command in ("scenes", "ingest", "import", "similar", "history", "search", "info"):
        assert command in out


@pytest.mark.slow  # a process that loads the store or the data set
def test_similar_json(store_path):
    document = json.loads(run("similar", "Groundhog Day", "--scene", "Sci-Fi", "--k", "4", "--json",
                              store=store_path).stdout)
    assert document["item"]["item_id"] == "Groundhog Day (1993)"
    assert [r["rank"] for r in document["results"]] == [1, 2, 3, 4]
    assert all(r["scene"] == "Sci-Fi" for r in document["results"])


@pytest.mark.slow  # a process that loads the store or the data set
def test_history_json_and_table(store_path):
    document = json.loads(run("history", "100k_1", "--scene", "Comedy", "--json", store=store_path).stdout)
    assert document["count"] == len(document["items"]) > 0
    table = run("history", "100k_1", "--scene", "Comedy", "--limit", "2", store=store_path).stdout
    assert "100k_1 in Comedy" in table


@pytest.mark.slow  # a process that loads the store or the data set
def test_ingest_again_says_up_to_date(store_path):
    out = run("ingest", "--dataset", "ml-100k", "--source", "Comedy", "--target", "Sci-Fi",
              store=store_path).stdout
    assert "already up to date" in out


@pytest.mark.slow  # a process that loads the store or the data set
def test_scenes_json():
    document = json.loads(run("scenes", "--dataset", "ml-100k", "--source", "Comedy", "--target",
                              "Sci-Fi", "--json").stdout)
    assert document["split"]["users_active_in_all"] == 588
    assert {g["genre"] for g in document["genres"]} >= {"Comedy", "Sci-Fi"}


@pytest.mark.slow  # six processes, one of which loads MiniLM
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "nobody", "--scene", "Comedy"), "unknown user: 'nobody'"),
        (("similar", "Groundhog Day", "--scene", "Westerns"), "unknown scene: 'Westerns'"),
        (("similar", "zzzzqqqq xxyy"), "unknown item"),
        (("eval", "--orders", "sorted", "--out", "never-written"), "--orders: Input should be 'balanced' or"),
        (("eval", "--protocol", "full", "--ranker", "listwise", "--out", "never-written"),
         "error: the full protocol ranks every unseen target item"),
        (("fit-hybrid", "--kinds", "hot"), "--kinds 'hot': choose both, warm or cold"),
    ],
)
def test_bad_input_is_one_clear_message(store_path, args, message):
    result = run(*args, store=store_path, check=False)
    assert result.returncode == 2
    assert message in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_store_explains_how_to_make_one(tmp_path):
    result = run("history", "1m_1", "--scene", "Comedy", store=tmp_path / "none", check=False)
    assert result.returncode == 2 and "scenebridge ingest" in result.stderr


@pytest.mark.store  # imports into a store of its own (MiniLM, in three processes)
@pytest.mark.slow
def test_bad_import_leaves_nothing_behind(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("item_id,scene,title\na,books,Dune\nb,,Emma\n")
    interactions = tmp_path / "interactions.csv"
    interactions.write_text("user_id,item_id,timestamp\nu1,a,1\n")
    store = tmp_path / "store"
    result = run("import", "mine", "--items", str(items), "--interactions", str(interactions),
                 store=store, check=False)
    assert result.returncode == 2
    assert "items.csv, line 3, field 'scene'" in result.stderr
    assert not store.exists()

    items.write_text("item_id,scene,title\na,books,Dune\nb,podcasts,Radiolab\n")
    document = json.loads(run("import", "mine", "--items", str(items), "--interactions",
                              str(interactions), "--json", store=store).stdout)
    assert document["items_total"] == 2 and document["histories_total"] == 1
    found = json.loads(run("search", "dune", "--json", store=store).stdout)
    assert found["results"][0]["item_id"] == "a"


@pytest.mark.slow
def test_the_backbone_is_recorded_in_the_store_and_shown(store_path, data):
    """After a first use (or fit-backbone), the store keeps the fits and the choice keyed by the
    data's fingerprint, and info / fit-backbone --show read them without fitting anything."""
    from agent.candidates import joint_matrix
    from agent.selection import ensure_backbone

    choice = ensure_backbone(data, "Comedy", "Sci-Fi", progress=False)
    folder = store_path / "backbone" / "ml-100k" / joint_matrix(data, "Comedy", "Sci-Fi").fingerprint
    run("ingest", "--dataset", "ml-100k", "--source", "Comedy", "--target", "Sci-Fi", store=store_path)
    # (an ingest that changes nothing keeps the data, so the choice still holds)
    assert (folder / "choice.json").is_file()
    assert {p.name.split("-")[0] for p in folder.glob("*.npz")} >= {choice.backbone["warm"]}
    info = json.loads(run("info", "--json", store=store_path).stdout)
    recorded = info["datasets"]["ml-100k"]["backbone"]
    assert recorded["models"] == choice.backbone and recorded["default_ranker"] == choice.default_ranker
    assert recorded["pair"] == "Comedy -> Sci-Fi" and recorded["validation_users"]["warm"] > 0
    shown = run("fit-backbone", "--show", store=store_path).stdout
    assert f"backbone for warm users: {choice.backbone['warm']}" in shown and "default ranker" in shown
    assert "ml-100k Comedy -> Sci-Fi: backbone" in run("info", store=store_path).stdout


def test_fit_backbone_help_explains_itself():
    out = run("fit-backbone", "--help").stdout
    assert "validation" in out and "--show" in out and "--source" in out
