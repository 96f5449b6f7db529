"""The float type the model computes in on this machine.

bf16 halves memory traffic where the CPU has bf16 kernels (AVX-512 and newer x86). Where it has
only AVX2, bf16 matmuls fall back to a slow path: measured on a 2-core AVX2 host
(bench/precision.py, docs/benchmarks.md), a 2000x2000 matmul took 34 s in bf16 against 0.25 s in
fp32, and vLLM prefilled 607 tokens in 17.1 s against 2.2 s. So ``auto`` computes in bf16 only
where the CPU can, for the vLLM server and the trainer alike.
"""

from __future__ import annotations

import functools
from typing import Literal

Precision = Literal["auto", "bfloat16", "float32"]
FAST_BF16 = ("AVX512", "AMX")  # torch's CPU capability names with native bf16 kernels


@functools.cache
def cpu_capability() -> str:
    import torch

    return torch.backends.cpu.get_cpu_capability()


def compute_dtype(setting: Precision = "auto") -> Literal["bfloat16", "float32"]:
    if setting != "auto":
        return setting
    return "bfloat16" if cpu_capability().startswith(FAST_BF16) else "float32"
