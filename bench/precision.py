"""bf16 against fp32 on this machine's CPU: what `SCENEBRIDGE_COMPUTE_DTYPE=auto` chooses between.

    .venv/bin/python bench/precision.py [--size 2000] [--tokens 560]

Times one square matmul and one forward pass of the packaged model over a prompt of --tokens
tokens (the trainer's label_scores path), each in fp32 and in bf16 autocast, and prints a
Markdown table with the ratio. The vLLM prefill rate in both dtypes is measured with
bench/recommend_latency.py against a server started with SCENEBRIDGE_COMPUTE_DTYPE set.
"""

from __future__ import annotations

import argparse
import time

import torch


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: kernels chosen, memory touched
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="side of the square matmul")
    parser.add_argument("--tokens", type=int, default=560, help="prompt length of the model forward")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM

    from agent.llm.models import prepare_model
    from agent.llm.precision import compute_dtype, cpu_capability
    from core.settings import get_settings

    settings = get_settings()
    a = torch.randn(args.size, args.size)
    model_dir = prepare_model(settings.llm_model, settings.cache_dir, progress=False)
    ids = torch.randint(100, 20000, (1, args.tokens))
    rows = []
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager").eval()
        bf16 = dtype == torch.bfloat16

        def matmul():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return a @ a

        @torch.no_grad()
        def forward():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model(input_ids=ids, logits_to_keep=1).logits

        rows.append((name, timed(matmul, args.repeats), timed(forward, args.repeats)))
    print(f"CPU capability: {cpu_capability()}; auto chooses {compute_dtype('auto')}; "
          f"{torch.get_num_threads()} threads\n")
    print(f"| dtype | matmul {args.size}x{args.size} s | forward, {args.tokens} tokens s |")
    print("|---|---:|---:|")
    for name, mm, fw in rows:
        print(f"| {name} | {mm:.3f} | {fw:.2f} |")
    print(f"| bf16 / fp32 | {rows[1][1] / rows[0][1]:.1f}x | {rows[1][2] / rows[0][2]:.1f}x |")


if __name__ == "__main__":
    main()
