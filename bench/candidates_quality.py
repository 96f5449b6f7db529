"""Candidate-generator quality and speed: leave-last-out NDCG@10 / HR@10 of each generator alone
and of the default fusion, warm (earlier target items known) and cold (target history hidden).

    .venv/bin/python bench/candidates_quality.py [--dataset ml-1m] [--users 500] [--store DIR]

Needs a store holding the dataset (``scenebridge ingest --dataset ml-1m --source Comedy --target
Sci-Fi``); the store defaults to the settings' (``SCENEBRIDGE_STORE_DIR``). For each sampled user
with at least 5 items in both scenes, the held-out item is their last target item by timestamp,
ranked among 19 seeded random target items they never interacted with; the user's own
interactions are left out of every count. Ties count at their expectation under a random order.
``--ablations`` adds the variants behind the defaults: raw (uncentred) and target-blended
embedding, cross_cooc with other like thresholds, and fusion by percentiles instead of z-scores.
Prints a Markdown report (docs/candidates.md keeps the last one run).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from agent.candidates import DEFAULT_GENERATORS, generate_candidates, load_scene_data, make_generator, user_evidence
from agent.candidates.evidence import resolve
from agent.candidates.generate import score_matrix
from agent.cases import active_users, leave_last_out_cases
from core.settings import get_settings
from evals.generator_quality import FUSED, leave_last_out, score_row, summarize
from evals.rows import EvalRow
from evals.run_metrics import RunMetrics
from retrievers import Retriever, SceneStore

VARIANTS = {
    "embedding, raw cosine (center=False)": {"name": "embedding", "config": {"center": False}},
    "embedding + target history (target_weight=0.5)": {"name": "embedding", "config": {"target_weight": 0.5}},
    "cross_cooc, every source interaction (min_rating=None)": {"name": "cross_cooc", "config": {"min_rating": None}},
    "cross_cooc, target likes only (target_min_rating=4)": {"name": "cross_cooc",
                                                             "config": {"target_min_rating": 4.0}},
}


def fusion_variants(data, cases) -> dict[str, list[EvalRow]]:
    """The default fusion (z-scores over the eligible target scene) against percentiles."""
    generators = [make_generator(name) for name in DEFAULT_GENERATORS]
    per = {"fused, z-scores (default)": [], "fused, percentiles": []}
    for case in cases:
        query = resolve(data, case.evidence)
        scores = score_matrix(data, query, generators)
        eligible = np.ones(query.target.n_items, dtype=bool)
        eligible[query.target_items] = False
        columns = [query.target.item_index[i] for i in case.candidates]
        pool = scores[:, eligible]
        std = pool.std(axis=1, keepdims=True)
        z = np.where(std > 0, (scores[:, columns] - pool.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1), 0)
        percentiles = np.stack([np.searchsorted(np.sort(row), scores[g, columns], side="right") / len(row)
                                for g, row in enumerate(pool)])
        per["fused, z-scores (default)"].append(score_row(case, z.sum(axis=0)))
        per["fused, percentiles"].append(score_row(case, percentiles.sum(axis=0)))
    return per


def ablations(data, *, source, target, users, negatives, seed):
    rows = {}
    for hidden in (False, True):
        options = {"source": source, "target": target, "users": users, "negatives": negatives, "seed": seed,
                   "cold": hidden}
        for label, spec in VARIANTS.items():
            rows.setdefault(label, {})[hidden] = leave_last_out(data, generators=[spec], **options)[spec["name"]]
        cases = leave_last_out_cases(data, **options)
        for label, metrics in summarize(fusion_variants(data, cases)).items():
            rows.setdefault(label, {})[hidden] = metrics
    return rows


def print_rows(rows: dict[str, dict[bool, RunMetrics]]) -> None:
    print("| generator | warm NDCG@10 | warm HR@10 | cold NDCG@10 | cold HR@10 |\n|---|---:|---:|---:|---:|")
    for name, by_mode in rows.items():
        w, c = by_mode[False], by_mode[True]
        print(f"| {name} | {w.ndcg_at_10:.3f} | {w.hr_at_10:.3f} | {c.ndcg_at_10:.3f} | {c.hr_at_10:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-1m", help="a dataset of the store (ml-1m, ml-100k, ...)")
    parser.add_argument("--store", type=Path, default=None, help="store directory (default: settings)")
    parser.add_argument("--source", default=None, help="source scene (default: the one ingested)")
    parser.add_argument("--target", default=None, help="target scene (default: the one ingested)")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--negatives", type=int, default=19)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calls", type=int, default=200, help="timed generate_candidates calls")
    parser.add_argument("--ablations", action="store_true", help="also the variants behind the defaults")
    args = parser.parse_args()

    store = SceneStore(args.store or get_settings().store_path)
    retriever = Retriever(store, args.dataset)
    data = load_scene_data(retriever)
    source, target = args.source or data.source, args.target or data.target

    started = time.perf_counter()
    warm, cold = (leave_last_out(data, source=source, target=target, users=args.users,
                                 negatives=args.negatives, seed=args.seed, cold=hidden)
                  for hidden in (False, True))
    evaluation_seconds = time.perf_counter() - started

    rng = np.random.default_rng(args.seed)
    users = rng.choice(active_users(data, source, target), size=args.calls)
    evidences = [user_evidence(data, str(u), source=source, target=target) for u in users]
    generate_candidates(data, evidences[0])  # warm the per-data memos
    timings = []
    for evidence in evidences:
        started = time.perf_counter()
        candidates = generate_candidates(data, evidence)
        timings.append((time.perf_counter() - started) * 1000)

    print(f"## Candidate generators: {args.dataset} {source} -> {target}\n")
    print(f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"store {store.path}.\n")
    print("| step | value |\n|---|---|")
    print(f"| load SceneData ({len(data.users):,} users, {data.n_interactions:,} interactions) "
          f"| {data.load_seconds:.2f} s |")
    print(f"| generate_candidates (4 generators, 50 each, limit 100), p50 / p95 "
          f"| {np.percentile(timings, 50):.1f} / {np.percentile(timings, 95):.1f} ms |")
    print(f"| leave-last-out, {warm[FUSED].users} users, warm + cold | {evaluation_seconds:.1f} s |\n")
    print(f"{warm[FUSED].users} users with >= 5 items in both scenes (seed {args.seed}), 1 held-out + "
          f"{args.negatives} random unseen {target} items; the last candidate set had "
          f"{len(candidates.items)} items.\n")
    print_rows({name: {False: warm[name], True: cold[name]} for name in warm})
    if args.ablations:
        print("\nVariants (same users and candidates):\n")
        print_rows(ablations(data, source=source, target=target, users=args.users,
                             negatives=args.negatives, seed=args.seed))


if __name__ == "__main__":
    main()
