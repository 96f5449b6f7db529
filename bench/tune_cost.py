"""Cost of tuning on the same rendered examples: examples/s and peak RSS per trainer variant
(method and frozen lower layers).

Each variant runs in its own process (peak RSS is per process) for a few optimizer steps on the
first examples of a tuning run's ``examples/epoch-0.jsonl``; the first step (allocation, warm-up)
is left out of the rate.

    .venv/bin/python bench/tune_cost.py tuned/mixed-300 [--examples 16] [--batch-size 4] \
        [--variants full:0 lora:0 lora:12]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def measure(run_dir: Path, method: str, examples: int, batch_size: int, freeze: int = 0) -> dict:
    from agent.llm.models import prepare_model
    from agent.tuning.examples import TuningExample
    from agent.tuning.trainer import TrainConfig, load_model, peak_rss_gb, train
    from core.settings import get_settings

    settings = get_settings()
    lines = (run_dir / "examples" / "epoch-0.jsonl").read_text().splitlines()[:examples]
    data = [TuningExample.model_validate_json(line) for line in lines]
    model, tokenizer = load_model(prepare_model(settings.llm_model, settings.cache_dir, progress=False), method, 16,
                                  freeze_layers=freeze)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    times = []
    last = time.perf_counter()

    def on_step(state, total):
        nonlocal last
        now = time.perf_counter()
        times.append(now - last)
        last = now

    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        config = TrainConfig(method=method, batch_size=batch_size, save_every=10_000, learning_rate=1e-5,
                             freeze_layers=freeze)
        train(model, tokenizer, lambda epoch: data, config, Path(scratch) / "checkpoint", on_step=on_step)
    steady = times[1:] or times
    return {"method": method, "frozen_layers": freeze, "trainable_parameters_m": round(trainable / 1e6, 1), "examples": len(data),
            "batch_size": batch_size, "examples_per_second": round(batch_size * len(steady) / sum(steady), 3),
            "peak_rss_gb": peak_rss_gb(),
            "prompt_tokens_mean": round(sum(len(tokenizer.encode(e.prompt)) for e in data) / len(data))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="A tuning run directory (its rendered examples are reused).")
    parser.add_argument("--examples", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--variants", nargs="+", default=["full:0", "lora:0"],
                        help="METHOD:FROZEN_LOWER_LAYERS, each measured in its own process")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.variant:
        method, freeze = args.variant.split(":")
        print(json.dumps(measure(args.run_dir, method, args.examples, args.batch_size, int(freeze))))
        return
    rows = []
    for variant in args.variants:
        child = subprocess.run([sys.executable, __file__, str(args.run_dir), "--variant", variant,
                                "--examples", str(args.examples), "--batch-size", str(args.batch_size)],
                               capture_output=True, text=True, check=True)
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| method | frozen lower layers | trainable (M) | examples/s | peak RSS (GB) | mean prompt tokens |"
          "\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['method']} | {r['frozen_layers']} | {r['trainable_parameters_m']} | {r['examples_per_second']} "
              f"| {r['peak_rss_gb']} | {r['prompt_tokens_mean']} |")


if __name__ == "__main__":
    main()
