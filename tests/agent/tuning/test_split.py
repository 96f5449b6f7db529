"""A tuned model's users are refused by evaluations."""

import asyncio

import pytest

from agent.tuning.split import SPLIT_FILE, Split, check_disjoint, read_split
from core.errors import ScenebridgeError
from evals.config import RunConfig
from evals.runner import run


def write_split(directory, train, validation=()):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SPLIT_FILE).write_text(Split(dataset="ml-100k", source="Comedy", target="Sci-Fi",
                                              train=list(train), validation=list(validation)).model_dump_json())
    return directory


def test_overlap_is_refused_and_named(tmp_path):
    model = write_split(tmp_path / "tuned", ["u1", "u2"], ["u9"])
    check_disjoint(model, "ml-100k", ["u3", "u4"])
    check_disjoint(model, "ml-1m", ["u1"])  # another dataset: other people
    for users in (["u3", "u1"], ["u9"]):
        with pytest.raises(ScenebridgeError, match="used to tune") as error:
            check_disjoint(model, "ml-100k", users)
        assert error.value.param == "model"


def test_packaged_models_and_plain_directories_have_no_split(tmp_path):
    assert read_split(None) is None and read_split("gemma-3-270m") is None and read_split(tmp_path) is None
    check_disjoint(tmp_path, "ml-100k", ["u1"])


@pytest.mark.slow
def test_eval_refuses_a_model_tuned_on_its_users(tmp_path, store_path):
    config = RunConfig(dataset="ml-100k", users=6, store=store_path, ranker="popularity")
    out = asyncio.run(run(config, tmp_path / "pop", progress=False))
    users = [line.split('"user": "')[1].split('"')[0] for line in (out / "rows.jsonl").read_text().splitlines()]
    model = write_split(tmp_path / "tuned", users[:1])
    with pytest.raises(ScenebridgeError, match="1 evaluated users were used to tune"):
        asyncio.run(run(config.model_copy(update={"model": str(model)}), tmp_path / "refused", progress=False))
    assert not (tmp_path / "refused" / "rows.jsonl").exists()
