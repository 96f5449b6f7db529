"""Tune a causal LM as a verbalizer: cross-entropy over the candidates' label tokens at the
answer position, the same distribution vLLM returns with ``allowed_token_ids`` and processed
logprobs — so the training loss is exactly the ranking the server will produce.

CPU. Where the CPU has bf16 kernels (agent/llm/precision.py; otherwise the whole model is fp32),
the frozen weights stay bf16; the trained ones are kept in fp32 (master weights) and the
forward runs under bf16 autocast: a pure-bf16 weight of magnitude 0.03 has a resolution of ~1e-4,
so AdamW updates of ~1e-5 would round away to nothing. ``full`` tunes every transformer weight
but keeps the token embeddings frozen (tied to the output head, they are 170M of gemma-3-270m's 268M parameters, and only the 20
label rows matter here: AdamW on them cost 0.4 s a step for nothing). ``lora`` trains peft
adapters on every linear layer and merges them at the end. Either way the result is a plain
Hugging Face directory that vLLM serves.

A checkpoint (weights or adapters, optimizer, position in the example stream, loss history) is
written atomically every ``save_every`` steps; a run started again with the same config resumes
from it.
"""

from __future__ import annotations

import math
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file

from agent.llm.precision import Precision, compute_dtype
from agent.rankers.verbalizer import LABELS
from agent.tuning.examples import TuningExample
from core.errors import DataError
from core.settings import get_settings

Method = Literal["full", "lora"]


class TrainConfig(BaseModel):
    method: Method = "full"
    epochs: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=1e-5, gt=0)
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step (accumulated).")
    warmup_steps: int = Field(default=5, ge=0)
    weight_decay: float = 0.0
    lora_rank: int = Field(default=16, ge=1)
    freeze_layers: int = Field(default=0, ge=0, description="Lower transformer layers left frozen: "
                               "no backward pass through them (the cost that dominates here).")
    save_every: int = Field(default=10, ge=1, description="Optimizer steps between checkpoints.")
    seed: int = 0
    precision: Precision = Field(default="auto", description="Float type to compute in; auto: "
                                 "SCENEBRIDGE_COMPUTE_DTYPE, itself auto by CPU (agent/llm/precision.py).")

    def dtype(self) -> str:
        """The float type this run computes in, resolved."""
        return compute_dtype(self.precision if self.precision != "auto" else get_settings().compute_dtype)


class TrainState(BaseModel):
    """Where a run is: steps done, examples consumed, the loss curve."""

    step: int = 0
    examples_seen: int = 0
    seconds: float = 0.0
    losses: list[float] = Field(default_factory=list, description="Mean loss of each optimizer step.")
    accuracies: list[float] = Field(default_factory=list)


def load_model(base: Path, method: Method, lora_rank: int, dtype: str | None = None, freeze_layers: int = 0):
    """The model and tokenizer, ready to train; ``dtype`` default: ``TrainConfig().dtype()``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=getattr(torch, dtype or TrainConfig().dtype()),
                                                 attn_implementation="eager")
    return prepare_for_training(model, method, lora_rank, freeze_layers), tokenizer


def decoder_layers(model) -> list:
    return list(model.get_decoder().layers)


def prepare_for_training(model, method: Method, lora_rank: int = 16, freeze_layers: int = 0):
    """Freeze the token embeddings and the lower ``freeze_layers`` layers; fp32 master copies of
    what ``full`` trains, or peft adapters on the upper layers. With nothing below them trainable,
    autograd records nothing there: the backward pass stops at the first trained layer."""
    layers = decoder_layers(model)
    if freeze_layers >= len(layers):
        raise DataError(f"freeze_layers={freeze_layers}, but the model has {len(layers)} layers",
                        hint=f"freeze at most {len(layers) - 1}")
    model.get_input_embeddings().weight.requires_grad_(False)
    for layer in layers[:freeze_layers]:
        layer.requires_grad_(False)
    if method == "full":
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
    else:
        from peft import LoraConfig, get_peft_model

        # peft takes a layer range only with named modules: the linear layers inside a block.
        linear = sorted({name.rsplit(".", 1)[-1] for name, module in layers[0].named_modules()
                         if isinstance(module, torch.nn.Linear)})
        model = get_peft_model(model, LoraConfig(
            r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.0,
            target_modules=linear if freeze_layers else "all-linear",
            layers_to_transform=list(range(freeze_layers, len(layers))) if freeze_layers else None,
            task_type="CAUSAL_LM"))
    model.train()
    return model


def label_token_ids(tokenizer) -> torch.Tensor:
    """Token ids of " A" … " T", what follows "Answer:" (the ranker asks the server for the same)."""
    ids = [tokenizer.encode(f" {label}", add_special_tokens=False) for label in LABELS]
    if any(len(i) != 1 for i in ids):
        raise DataError("this model's tokenizer splits the labels A..T into several tokens",
                        hint="tune a model whose tokenizer has single-token capital letters")
    return torch.tensor([i[0] for i in ids])


def label_scores(model, tokenizer, labels: torch.Tensor, example: TuningExample) -> torch.Tensor:
    """The logits of the example's shown labels at the answer position (fp32)."""
    input_ids = torch.tensor([tokenizer.encode(example.prompt)])  # with BOS, as vLLM tokenizes
    # bf16 frozen weights compute under bf16 autocast; an fp32 model (a CPU without bf16
    # kernels, agent/llm/precision.py) computes in fp32.
    bf16 = model.get_input_embeddings().weight.dtype == torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=input_ids, logits_to_keep=1).logits[0, -1]
    return logits[labels[: len(example.candidates)]].float()


def example_loss(model, tokenizer, labels: torch.Tensor, example: TuningExample) -> tuple[torch.Tensor, bool]:
    """Cross-entropy of the true label among the example's labels; and whether it ranks first."""
    scores = label_scores(model, tokenizer, labels, example)
    loss = torch.nn.functional.cross_entropy(scores[None], torch.tensor([example.answer]))
    return loss, bool(scores.argmax().item() == example.answer)


@torch.no_grad()
def evaluate_loss(model, tokenizer, examples: list[TuningExample], progress: Callable | None = None) -> dict:
    """Mean loss and top-1 accuracy on held-out examples, overall and by kind (chance with 20
    candidates: loss log 20 = 3.00, top-1 5%)."""
    was_training = model.training
    model.eval()
    labels = label_token_ids(tokenizer)
    results: list[tuple[str, float, bool]] = []
    for example in examples:
        loss, hit = example_loss(model, tokenizer, labels, example)
        results.append((example.kind, loss.item(), hit))
        if progress:
            progress()
    model.train(was_training)

    def summary(rows) -> dict:
        return {"loss": round(sum(r[1] for r in rows) / max(1, len(rows)), 4),
                "top1": round(sum(r[2] for r in rows) / max(1, len(rows)), 4), "examples": len(rows)}

    kinds = sorted({r[0] for r in results})
    return summary(results) | {"by_kind": {k: summary([r for r in results if r[0] == k]) for k in kinds}}


def _trainable(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _save_checkpoint(directory: Path, model, optimizer, state: TrainState) -> None:
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    names = {id(p): n for n, p in model.named_parameters()}
    save_file({names[id(p)]: p.detach().contiguous() for p in _trainable(model)}, staging / "trainable.safetensors")
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    (staging / "state.json").write_text(state.model_dump_json())  # last: its presence marks a whole checkpoint
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)


def _load_checkpoint(directory: Path, model, optimizer) -> TrainState | None:
    if not (directory / "state.json").is_file():
        return None
    weights = load_file(directory / "trainable.safetensors")
    named = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            named[name].copy_(value)
    optimizer.load_state_dict(torch.load(directory / "optimizer.pt", weights_only=True))
    return TrainState.model_validate_json((directory / "state.json").read_text())


def train(model, tokenizer, stream: Callable[[int], list[TuningExample]], config: TrainConfig,
          checkpoint_dir: Path, *, on_step: Callable[[TrainState, int], None] | None = None) -> TrainState:
    """Train over ``stream(epoch)`` for ``config.epochs`` epochs; resumes from ``checkpoint_dir``.

    ``on_step(state, total_steps)`` is called after every optimizer step (progress, logging).
    """
    torch.manual_seed(config.seed)
    labels = label_token_ids(tokenizer)
    params = _trainable(model)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    state = _load_checkpoint(checkpoint_dir, model, optimizer) or TrainState()
    epochs = [stream(epoch) for epoch in range(config.epochs)]
    flat = [e for epoch in epochs for e in epoch]
    total_steps = math.ceil(len(flat) / config.batch_size)

    def rate(step: int) -> float:  # linear warm-up, then cosine decay to 10%
        if step < config.warmup_steps:
            return (step + 1) / (config.warmup_steps + 1)
        progress = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    while state.examples_seen < len(flat):
        started = time.perf_counter()
        batch = flat[state.examples_seen: state.examples_seen + config.batch_size]
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * rate(state.step)
        total, hits = 0.0, 0
        for example in batch:
            loss, hit = example_loss(model, tokenizer, labels, example)
            (loss / len(batch)).backward()
            total += loss.item()
            hits += hit
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.examples_seen += len(batch)
        state.losses.append(round(total / len(batch), 4))
        state.accuracies.append(round(hits / len(batch), 4))
        state.seconds += time.perf_counter() - started
        if state.step % config.save_every == 0 or state.examples_seen >= len(flat):
            _save_checkpoint(checkpoint_dir, model, optimizer, state)
        if on_step:
            on_step(state, total_steps)
    return state


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)
