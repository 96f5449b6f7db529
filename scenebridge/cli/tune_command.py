"""``scenebridge tune``: teach the local model to rank from training users' behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenebridge.cli._common import ChromaUrlOption, JsonOption, StoreOption, print_json, validated


def tune(
    out: Annotated[Path, typer.Option("--out", help="Run directory; becomes the tuned model "
                                      "(scenebridge llm serve --model DIR). Resumes if interrupted.")],
    dataset: Annotated[str, typer.Option(help="Dataset in the store.")] = "ml-1m",
    source: Annotated[str, typer.Option(help="Source scene (the user's evidence).")] = "Comedy",
    target: Annotated[str, typer.Option(help="Target scene (what gets ranked).")] = "Sci-Fi",
    train_users: Annotated[int | None, typer.Option(min=1, help="Train-split users to learn from "
                                                    "[default: all of them].")] = None,
    validation_users: Annotated[int, typer.Option(min=0, help="Validation-split users whose held-out "
                                                  "loss is reported before and after.")] = 40,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the users (fresh negatives and "
                                        "label positions each).")] = 1,
    method: Annotated[str, typer.Option(help="full (every transformer weight) | lora (adapters, "
                                        "merged at the end)")] = "full",
    kinds: Annotated[str | None, typer.Option(help="Example kinds, comma-separated: warm (source evidence + "
                                       "target history), cold (source evidence only), source (inside "
                                       "the source scene only; not for rerank) [default: warm,cold,source; "
                                       "rerank: warm,cold].")] = None,
    negatives: Annotated[str, typer.Option(help="uniform | popular | mixed (half each)")] = "mixed",
    learning_rate: Annotated[float, typer.Option(min=0.0, help="Peak learning rate.")] = 1e-5,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per optimizer step.")] = 8,
    save_every: Annotated[int, typer.Option(min=1, help="Optimizer steps between checkpoints.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of users, negatives, label positions.")] = 0,
    precision: Annotated[str, typer.Option(help="auto (bfloat16 where the CPU has bf16 kernels, else "
                                           "float32) | bfloat16 | float32")] = "auto",
    base_model: Annotated[str, typer.Option(help="Packaged model or HF directory to start from.")] = "gemma-3-270m",
    template: Annotated[str, typer.Option(help="The ranker's prompt: verbalizer (titles, random label "
                                          "positions) or rerank (the backbone's top 20 with their "
                                          "collaborative evidence, as --ranker rerank serves them).")] = "verbalizer",
    points: Annotated[int, typer.Option(min=1, help="rerank: held-out points per user and kind (each of "
                                        "their last target items in turn).")] = 2,
    order: Annotated[str, typer.Option(help="rerank: backbone (candidates in the backbone's order, as "
                                       "served) | rotated (a random rotation: no position prior).")] = "backbone",
    max_examples: Annotated[int | None, typer.Option(min=1, help="Cap on training examples per epoch (a "
                                                     "seeded sample) [default: all the users give].")] = None,
    freeze_layers: Annotated[int, typer.Option(min=0, help="Lower transformer layers left frozen (no "
                                               "backward pass through them: faster).")] = 0,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA adapter rank (--method lora).")] = 16,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Tune the model to rank, on train-split users (CPU; bf16 compute where the CPU has it).

    --template verbalizer: each example is the verbalizer's own prompt with the true item at a random label.
    --template rerank: each example is the re-ranker's prompt v2 (the backbone's top 20 with their collaborative
    evidence), for each of a user's last --points target items held out in turn; the loss is on the label token.
    DIR ends up holding the merged model, the user split (which eval checks), the examples, and tuning.json.
    """
    from agent.tuning.examples import KINDS, RERANK_KINDS
    from agent.tuning.run import TuneConfig
    from agent.tuning.run import tune as run_tune
    from agent.tuning.trainer import TrainConfig

    config = validated(lambda: TuneConfig(
        dataset=dataset, source=source, target=target, base_model=base_model, train_users=train_users,
        validation_users=validation_users,
        kinds=([k.strip() for k in kinds.split(",") if k.strip()] if kinds is not None
               else list(RERANK_KINDS if template.startswith("rerank") else KINDS)),
        negatives=negatives, template=template, points=points, order=order, max_examples=max_examples,
        train=TrainConfig(method=method, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size,
                          save_every=save_every, seed=seed, precision=precision, freeze_layers=freeze_layers,
                          lora_rank=lora_rank),
    ), "tune")
    summary = run_tune(config, out, store=store, progress=not json_output)
    if json_output:
        print_json({k: v for k, v in summary.items() if k != "loss"} | {"loss": {
            k: v for k, v in summary["loss"].items() if k != "curve"}})
        return
    before, after = summary["validation"]["before"], summary["validation"]["after"]
    typer.echo(f"{out}: {summary['examples']} examples from {summary['users']['train']} users in "
               f"{summary['train_seconds']:.0f} s ({summary['examples_per_second']} examples/s, peak RSS "
               f"{summary['peak_rss_gb']} GB); training loss {summary['loss']['first_steps']} -> "
               f"{summary['loss']['last_steps']}; validation loss {before['loss']} -> {after['loss']}, "
               f"top-1 {before['top1']:.2f} -> {after['top1']:.2f} (chance 3.00 / 0.05)")
    typer.echo(f"serve it: scenebridge llm serve --model {out}")


def register(app: typer.Typer) -> None:
    app.command("tune")(tune)
