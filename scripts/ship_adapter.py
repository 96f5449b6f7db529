"""Package a tuning run's LoRA adapter into the repository (``models/NAME/``), small, with what
reproduces and judges it: the run's config and the command that re-runs it, the sha256 of the
examples it was trained and validated on, its cost and its validation loss, and (``--evals``) the
paired comparisons that made it the default. ``scenebridge model prepare --model NAME`` then merges
it into the packaged base once.

    .venv/bin/python scripts/ship_adapter.py /work/runs/rerank-lora --name gemma-3-270m-rerank \\
        [--evals docs/rerank-evals.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("adapter_config.json", "adapter_model.safetensors")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def command(config: dict) -> str:
    train = config["train"]
    return (f"scenebridge tune --out DIR --dataset {config['dataset']} --source {config['source']} "
            f"--target {config['target']} --template {config['template']} --points {config['points']} "
            f"--order {config['order']} --kinds {','.join(config['kinds'])} "
            + (f"--max-examples {config['max_examples']} " if config.get("max_examples") else "")
            + (f"--train-users {config['train_users']} " if config.get("train_users") else "")
            + f"--validation-users {config['validation_users']} --method {train['method']} "
            f"--freeze-layers {train['freeze_layers']} --lora-rank {train['lora_rank']} "
            f"--learning-rate {train['learning_rate']} --batch-size {train['batch_size']} --epochs {train['epochs']} "
            f"--seed {train['seed']} --base-model {config['base_model']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="A finished `scenebridge tune --method lora` run.")
    parser.add_argument("--name", required=True, help="Model name (the directory under models/).")
    parser.add_argument("--evals", type=Path, help="JSON of the evaluations that justify shipping it.")
    args = parser.parse_args()
    summary = json.loads((args.run_dir / "tuning.json").read_text())
    if summary["config"]["train"]["method"] != "lora":
        raise SystemExit("only a LoRA run has a small adapter to ship")
    out = REPO / "models" / args.name
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(args.run_dir / "adapter" / name, out / name)
    # The base is named, not a path of this machine: model prepare supplies it.
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    adapter_config["base_model_name_or_path"] = summary["config"]["base_model"]
    (out / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2) + "\n")
    examples = sorted((args.run_dir / "examples").glob("*.jsonl"))
    record = {
        "name": args.name,
        "base_model": summary["config"]["base_model"],
        "reproduce": command(summary["config"]),
        "config": summary["config"],
        "data": {p.name: {"sha256": sha256(p), "examples": sum(1 for _ in p.open())} for p in examples},
        "users": summary["users"],
        "cost": {k: summary[k] for k in ("examples", "steps", "dtype", "examples_per_second", "train_seconds",
                                          "peak_rss_gb")},
        "loss": {k: v for k, v in summary["loss"].items() if k != "curve"},
        "validation_loss": summary["validation"],
        "adapter_sha256": sha256(out / "adapter_model.safetensors"),
    }
    if args.evals:
        record["evaluations"] = json.loads(args.evals.read_text())
    (out / "tuning.json").write_text(json.dumps(record, indent=2) + "\n")
    size = sum((out / n).stat().st_size for n in FILES) / 1e6
    print(f"{out}: adapter {size:.1f} MB; scenebridge model prepare --model {args.name} merges it")


if __name__ == "__main__":
    main()
