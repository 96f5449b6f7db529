"""One tuning run, end to end, into a directory that is both a record and a servable model.

    DIR/split.json          the users trained and validated on (``eval`` refuses to report them)
    DIR/tune_config.json    the resolved config (a second run into DIR must match it: it resumes)
    DIR/examples/*.jsonl    the rendered training prompts, one file per epoch, and validation's
    DIR/checkpoint/         while training: trainable weights, optimizer, position (resume)
    DIR/config.json, model.safetensors, tokenizer…   the merged model, for ``llm serve --model DIR``
    DIR/tuning.json         what it cost and what it reached (written last: a finished run)

Training users come from the ``train`` split of agent/cases/splits.py, validation examples from the
``validation`` split; evaluations report ``test`` users, so they are disjoint by construction,
and ``split.json`` lets ``eval`` check it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, model_validator
from tqdm import tqdm

from agent.candidates import load_scene_data
from agent.cases import active_users, users_in
from agent.llm.adapted import save_merged
from agent.llm.models import MARKER, prepare_model
from agent.llm.server import ADAPTER_DIR
from agent.service import open_service
from agent.tuning.examples import (
    KINDS,
    CandidateOrder,
    Kind,
    Negatives,
    TuningExample,
    build_examples,
    build_rerank_examples,
)
from agent.tuning.split import SPLIT_FILE, Split
from agent.tuning.trainer import TrainConfig, evaluate_loss, load_model, peak_rss_gb, train
from core.errors import ScenebridgeError
from core.settings import get_settings

SUMMARY_FILE = "tuning.json"


class TuneConfig(BaseModel):
    dataset: str = "ml-1m"
    source: str = "Comedy"
    target: str = "Sci-Fi"
    base_model: str = Field(default="gemma-3-270m", description="Packaged model name or HF directory.")
    train_users: int | None = Field(default=None, ge=1, description="Train-split users (default: all).")
    validation_users: int = Field(default=40, ge=0, description="Validation-split users for held-out loss.")
    kinds: list[Kind] = Field(default_factory=lambda: list(KINDS))
    negatives: Negatives = "mixed"
    template: str = Field(default="verbalizer", description="The ranker's prompt; rerank* templates make "
                          "prompt-v2 examples (the backbone's head with its collaborative evidence).")
    points: int = Field(default=2, ge=1, description="rerank: held-out points per user (their last target items).")
    max_examples: int | None = Field(default=None, ge=1, description="Cap on training examples per epoch "
                                     "(a seeded sample of what the users give).")
    order: CandidateOrder = Field(default="backbone", description="rerank: candidates in the backbone's order, "
                                  "or rotated at random (no position prior).")
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _kinds_fit_the_template(self) -> TuneConfig:
        if self.template.startswith("rerank") and "source" in self.kinds:
            raise ValueError("rerank examples are warm or cold (the backbone ranks the target scene); "
                             "drop 'source' from kinds")
        return self


def _write_once(path: Path, payload: BaseModel, what: str) -> None:
    if path.exists():
        # Read back through the model: a field added since the run started takes its default.
        written = type(payload).model_validate_json(path.read_text())
        if json.loads(written.model_dump_json()) != json.loads(payload.model_dump_json()):
            raise ScenebridgeError(f"{path.parent} holds a tuning run with another {what}", param="out",
                                   hint="choose another --out, or delete the old run to start over")
    else:
        path.write_text(payload.model_dump_json(indent=2))


def _examples(path: Path, build) -> list[TuningExample]:
    """Rendered once per run directory, then read back (a resumed run trains on the same text)."""
    if path.is_file():
        return [TuningExample.model_validate_json(line) for line in path.read_text().splitlines()]
    examples = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".partial")
    staging.write_text("".join(e.model_dump_json() + "\n" for e in examples))
    staging.rename(path)
    return examples


def is_finished(out: Path) -> bool:
    return (out / SUMMARY_FILE).is_file()


def tune(config: TuneConfig, out: Path, *, store: Path | None = None, progress: bool = True) -> dict:
    """Tune, validate and save; returns the summary (``tuning.json``). Resumes an interrupted run."""
    settings = get_settings()
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "tune_config.json"
    if config_path.exists():  # a resumed run must be the same run
        _write_once(config_path, config, "configuration")
    if is_finished(out):
        return json.loads((out / SUMMARY_FILE).read_text())
    started = time.perf_counter()
    base = prepare_model(config.base_model, settings.cache_dir, progress=progress)

    async def render() -> tuple[Split, list[list[TuningExample]], list[TuningExample]]:
        async with open_service(store or settings.store_path, dataset=config.dataset, use_llm=False) as service:
            for scene in (config.source, config.target):
                service.retriever.check_scene(scene)
            data = load_scene_data(service.retriever)
            active = active_users(data, config.source, config.target)
            rng = np.random.default_rng(config.train.seed)
            train_pool, validation_pool = users_in(active, "train"), users_in(active, "validation")
            chosen = sorted(rng.choice(train_pool, size=min(config.train_users or len(train_pool),
                                                             len(train_pool)), replace=False).tolist())
            validation = sorted(rng.choice(validation_pool, size=min(config.validation_users, len(validation_pool)),
                                           replace=False).tolist())
            if not chosen:
                raise ScenebridgeError(f"no train-split user is active in both {config.source} and "
                                       f"{config.target}", param="train_users")
            _write_once(config_path, config, "configuration")  # once the input is known to be good
            split = Split(dataset=config.dataset, source=config.source, target=config.target,
                          train=chosen, validation=validation)
            _write_once(out / SPLIT_FILE, split, "user split")

            def build(users, seed):
                if config.template.startswith("rerank"):
                    return build_rerank_examples(
                        service, data, users, source=config.source, target=config.target, kinds=config.kinds,
                        points=config.points, order=config.order, seed=seed, template=config.template,
                        progress=progress)
                return build_examples(service, data, users, source=config.source, target=config.target,
                                      kinds=config.kinds, negatives=config.negatives, seed=seed,
                                      template=config.template, progress=progress)

            epochs = [_examples(out / "examples" / f"epoch-{e}.jsonl",
                                lambda e=e: build(chosen, config.train.seed + e)[: config.max_examples])
                      for e in range(config.train.epochs)]
            held_out = _examples(out / "examples" / "validation.jsonl",
                                 lambda: build(validation, config.train.seed + 10_000))
            return split, epochs, held_out

    split, epochs, held_out = asyncio.run(render())
    model, tokenizer = load_model(base, config.train.method, config.train.lora_rank, config.train.dtype(),
                                  config.train.freeze_layers)

    def validate(when: str) -> dict:
        path = out / f"validation-{when}.json"
        if path.is_file():
            return json.loads(path.read_text())
        with tqdm(total=len(held_out), desc=f"validation loss ({when})", unit="example",
                  disable=not progress) as bar:
            result = evaluate_loss(model, tokenizer, held_out, progress=lambda: bar.update(1))
        path.write_text(json.dumps(result) + "\n")
        return result

    before = validate("before")
    total = sum(len(e) for e in epochs)
    with tqdm(total=total, desc=f"tuning ({config.train.method})", unit="example",
              disable=not progress) as bar:
        def on_step(state, total_steps):
            bar.n = state.examples_seen
            window = state.losses[-10:]
            bar.set_postfix(step=f"{state.step}/{total_steps}", loss=f"{np.mean(window):.3f}",
                            top1=f"{np.mean(state.accuracies[-10:]):.2f}")
            bar.refresh()

        state = train(model, tokenizer, lambda e: epochs[e], config.train, out / "checkpoint", on_step=on_step)
    after = validate("after")

    if config.train.method == "lora":  # before merging: vLLM can serve it on the base model too
        model.save_pretrained(out / ADAPTER_DIR)
    save_merged(model, tokenizer, base, out)
    (out / MARKER).write_text(json.dumps({
        "name": out.resolve().name, "tuned_from": str(config.base_model),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2))
    summary = {
        "config": config.model_dump(mode="json"),
        "users": {"train": len(split.train), "validation": len(split.validation)},
        "examples": total, "steps": state.step, "dtype": config.train.dtype(),
        "examples_per_second": round(total / state.seconds, 3) if state.seconds else None,
        "train_seconds": round(state.seconds, 1),
        "wall_seconds_this_session": round(time.perf_counter() - started, 1),
        "peak_rss_gb": peak_rss_gb(),
        "loss": {"first_steps": _mean(state.losses[:5]), "last_steps": _mean(state.losses[-5:]),
                 "curve": state.losses},
        "validation": {"before": before, "after": after},
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")  # last: the run is finished
    shutil.rmtree(out / "checkpoint", ignore_errors=True)
    return summary


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None
