"""Backbone benchmark: fit time and memory of EASE and iALS on a scene pair's joint matrix, and the
latency of scoring one request (p50/p95), warm and cold, with the store's chosen backbone.

    .venv/bin/python bench/backbone_cost.py [--store DIR] [--dataset ml-1m] [--users 200]

Fits run in memory (nothing is written to the store); the request timings use the store's
persisted fits, as a serving process would after its first request. Prints a Markdown report
(docs/benchmarks.md keeps the last one run).
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

from agent.candidates import (DEFAULT_GENERATORS, fit_ease, fit_ials, generate_candidates, joint_matrix,
                              load_scene_data, read_choice, user_evidence)
from agent.cases import active_users, users_in
from agent.selection import ensure_backbone
from core.settings import get_settings
from retrievers import Retriever, SceneStore


def measured(fn):
    """(seconds, peak MB of Python-allocated memory, numpy arrays included) of one call."""
    tracemalloc.start()
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def percentiles(ms: list[float]) -> str:
    return f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--users", type=int, default=200, help="timed requests per kind of user")
    args = parser.parse_args()

    retriever = Retriever(SceneStore(args.store or get_settings().store_path), args.dataset)
    data = load_scene_data(retriever)
    source, target = data.source, data.target
    choice = ensure_backbone(data, source, target)
    joint = joint_matrix(data, source, target)
    print(f"# Backbone cost: {data.dataset} {source} -> {target}, {platform.processor() or platform.machine()}\n")
    print(f"Joint matrix: {joint.matrix.shape[0]} users x {joint.n_items} items ({joint.n_source} source + "
          f"{joint.n_items - joint.n_source} target), {joint.matrix.nnz} interactions.\n")

    print("| fit | seconds | peak memory (MB) | kept (MB) |\n|---|---:|---:|---:|")
    for warmth in ("warm", "cold"):
        l2 = choice.config("ease", warmth).get("l2", 500.0)
        seconds, peak = measured(lambda l2=l2: fit_ease(joint, l2))
        print(f"| EASE lambda {l2:g} ({warmth}) | {seconds:.2f} | {peak:.0f} | {joint.n_items ** 2 * 8 / 1e6:.0f} |")
    for warmth in ("warm", "cold"):
        params = {"iterations": 15, "seed": 0, **choice.config("ials", warmth)}
        seconds, peak = measured(lambda params=params: fit_ials(joint.matrix, params))
        kept = 11 * joint.n_items * params["factors"] * 4 / 1e6
        print(f"| iALS {params['factors']} factors, one model ({warmth}) | {seconds:.2f} | {peak:.0f} | "
              f"{kept:.1f} (10 folds + all) |")
        print(f"| iALS cross-fitted: 10 folds + all ({warmth}) | ~{11 * seconds:.0f} | | |")

    pool = users_in(active_users(data, source, target), "test")
    rng = np.random.default_rng(0)
    users = [str(u) for u in rng.choice(pool, size=min(args.users, len(pool)), replace=False)]
    print(f"\nOne request, {len(users)} test users each (ms, p50 / p95; the first request of each kind is "
          "excluded: it loads the persisted fits):\n")
    print("| request | warm | cold |\n|---|---:|---:|")
    cases = {w: [user_evidence(data, u, source=source, target=target, cold=w == "cold") for u in users]
             for w in ("warm", "cold")}
    for label, generators in (("backbone scores the scene, top 20", ("backbone",)),
                              ("ease scores the scene, top 20", ("ease",)),
                              ("ials scores the scene, top 20", ("ials",)),
                              (f"all {len(DEFAULT_GENERATORS)} generators, top 20", DEFAULT_GENERATORS)):
        cells = []
        for warmth in ("warm", "cold"):
            generate_candidates(data, cases[warmth][0], generators=generators, limit=20)
            ms = []
            for evidence in cases[warmth]:
                started = time.perf_counter()
                generate_candidates(data, evidence, generators=generators, limit=20)
                ms.append((time.perf_counter() - started) * 1000)
            cells.append(percentiles(ms))
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    recorded = read_choice(data, joint)
    print(f"\nBackbone: warm {recorded.backbone['warm']}, cold {recorded.backbone['cold']} (validation's choice).")


if __name__ == "__main__":
    main()
