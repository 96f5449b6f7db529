"""Adapted models: a packaged base model plus a small LoRA adapter the project trained, kept in
the repository (``models/<name>/``), merged once into servable weights by ``prepare_adapted``.

vLLM on CPU serves an adapter 6.4x slower than merged weights (docs/benchmarks.md), so the adapter
is folded into the base's weights (fp32 arithmetic, saved bf16 like the base) in
``<cache_dir>/models/<name>/``, with a marker naming the base and the adapter's sha256 written
last: a changed adapter, or an interrupted merge, is merged again; a second call returns at once.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from agent.llm._filelock import file_lock
from agent.llm._spinner import spinner
from core.errors import DataError

ADAPTER_WEIGHTS = "adapter_model.safetensors"


class AdaptedModel(BaseModel, frozen=True):
    name: str = Field(description="registry key, directory name and served-model name")
    description: str
    base: str = Field(description="the packaged model the adapter was trained on")
    adapter: Path = Field(description="directory with adapter_config.json and adapter_model.safetensors")

    def adapter_sha256(self) -> str:
        path = self.adapter / ADAPTER_WEIGHTS
        if not path.is_file():
            raise DataError(f"the adapter of {self.name} is missing: no {path}", param="model",
                            hint="restore it from the repository (git checkout -- models/), or re-run "
                            "the scenebridge tune command in its tuning.json")
        return hashlib.sha256(path.read_bytes()).hexdigest()


def save_merged(model, tokenizer, base: Path, out: Path) -> None:
    """A (peft) model as a plain Hugging Face directory: adapters folded in, bf16 safetensors, the
    base's tokenizer and generation config. The trainer saves a tuned model through it too."""
    import torch

    if hasattr(model, "merge_and_unload"):  # peft: fold the adapters into the weights
        model = model.merge_and_unload()
    model = model.to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    for extra in ("generation_config.json",):
        if (base / extra).is_file() and not (out / extra).exists():
            shutil.copy(base / extra, out / extra)


def is_merged(model: AdaptedModel, marker: dict | None) -> bool:
    return bool(marker) and marker.get("name") == model.name and marker.get("adapter_sha256") == model.adapter_sha256()


def merge_adapter(model: AdaptedModel, base_dir: Path, target: Path, marker_file: str, *,
                  progress: bool = True) -> Path:
    """Merge ``model``'s adapter into the prepared base at ``base_dir``, into ``target``."""
    sha = model.adapter_sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{model.name}.lock"):
        staging = target.parent / f".{model.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        started = time.monotonic()
        try:
            with spinner(f"merging the {model.name} adapter into {model.base}", progress):
                import torch
                from peft import PeftModel
                from transformers import AutoModelForCausalLM, AutoTokenizer

                base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
                save_merged(PeftModel.from_pretrained(base, model.adapter), AutoTokenizer.from_pretrained(base_dir),
                            base_dir, staging)
            (staging / marker_file).write_text(json.dumps({
                "name": model.name, "base": model.base, "adapter_sha256": sha,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }, indent=2))  # last: a directory without it is an interrupted merge
            (target / marker_file).unlink(missing_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if progress:
        print(f"{model.name} merged into {target} ({time.monotonic() - started:.0f} s)", flush=True)
    return target
