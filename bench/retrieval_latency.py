"""Retrieval benchmark: ingest time and store size for a scene pair, then p50/p95 latency of
each retrieval call the agent makes, and the retrieval sanity figure.

    .venv/bin/python bench/retrieval_latency.py [--dataset ml-1m] [--calls 200]

Ingest runs into a fresh temporary store (so embedding is timed); the calls run against it.
Prints a Markdown report (docs/benchmarks.md keeps the last one run).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from core.data import load_dataset, split_by_genre
from evals.retrieval_sanity import genre_neighbour_share
from retrievers import Retriever, SceneStore, ingest


def timed(fn, arguments) -> np.ndarray:
    seconds = []
    for args in arguments:
        started = time.perf_counter()
        fn(*args)
        seconds.append(time.perf_counter() - started)
    return np.asarray(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--source", default="Comedy")
    parser.add_argument("--target", default="Sci-Fi")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per retrieval method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    started = time.perf_counter()
    dataset = load_dataset(args.dataset)
    split = split_by_genre(dataset, args.source, args.target)
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        store = SceneStore(Path(directory), create=True)
        report = ingest(store, dataset, split, progress=True, source=split.names[0], target=split.names[1])
        again = ingest(store, dataset, split, progress=False)
        size_mb = store.size_bytes() / 1e6
        retriever = Retriever(store)

        source, target = split.names
        users = split.interactions(dataset).groupby("user_id")["scene"].nunique()
        users = list(users.index[users == 2])
        picked_users = [str(u) for u in rng.choice(users, args.calls)]
        targets = list(split.items_in(target))
        catalogue = list(dataset.items.index)
        titles = [str(dataset.items.loc[i, "title"]).lower() for i in rng.choice(catalogue, args.calls)]
        retriever.history(picked_users[0], source)  # warm caches (user index, model)
        retriever.search("warm up", k=10)

        calls = {
            "items (10 ids)": timed(retriever.items,
                                    [(list(rng.choice(catalogue, 10, replace=False)),) for _ in range(args.calls)]),
            "history": timed(retriever.history, [(u, source) for u in picked_users]),
            "evidence (k=3)": timed(lambda u, i: retriever.evidence(u, i, scene=source, k=3),
                                    [(u, str(rng.choice(targets))) for u in picked_users]),
            "search (title, k=10)": timed(lambda t: retriever.search(t, k=10), [(t,) for t in titles]),
            "similar (k=10, in target)": timed(lambda i: retriever.similar(i, scene=target, k=10),
                                               [(str(i),) for i in rng.choice(catalogue, args.calls)]),
        }
        sanity = genre_neighbour_share(retriever, target.split(",")[0], k=10, seeds=200, seed=args.seed)

    print(f"## Retrieval: {args.dataset} {source} -> {target}\n")
    print(f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"{args.calls} calls per method.\n")
    print("| step | value |\n|---|---|")
    print(f"| load + split ({len(dataset.interactions):,} ratings) | {load_seconds:.1f} s |")
    print(f"| ingest, fresh store ({report.items_embedded:,} items embedded, "
          f"{report.histories_written:,} histories) | {report.seconds:.1f} s |")
    print(f"| ingest again (writes nothing: {not again.changed}) | {again.seconds:.1f} s |")
    print(f"| store size | {size_mb:.1f} MB |\n")
    print("| call | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, ms in calls.items():
        print(f"| {name} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 95):.1f} |")
    print(f"\nSanity: for {sanity.seeds} {sanity.genre} seed items, {sanity.share:.1%} of their top-{sanity.k} "
          f"neighbours in the whole catalogue are {sanity.genre} (base rate {sanity.base_rate:.1%}, "
          f"lift {sanity.lift:.1f}x).")


if __name__ == "__main__":
    main()
