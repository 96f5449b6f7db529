"""The backbone's results tables for docs/results.md, from the runs of bench/backbone_runs.sh.

    .venv/bin/python bench/backbone_report.py RUNS_DIR

Per protocol: NDCG@10 (and recall@20, coverage, novelty on the full catalogue) of every ranker, then
paired bootstrap 95% intervals (2,000 resamples over the shared users) of each ranker against
popularity and against the hybrid as it was before the backbone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from evals.compare import compare_runs
from evals.run_metrics import RunMetrics

RANKERS = ("popularity", "cross_cooc", "embedding", "ease", "ials", "backbone", "hybrid", "hybrid-uniformfit",
           "hybrid-before")
PROTOCOLS = ("warm-uniform", "warm-popular", "cold-uniform", "cold-popular", "full", "full-cold")


def cell(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table(runs: Path, prefix: str, protocols, rankers) -> list[str]:
    lines = ["| ranker | " + " | ".join(protocols) + " |", "|---|" + "---:|" * len(protocols)]
    for ranker in rankers:
        cells = []
        for protocol in protocols:
            path = runs / f"{prefix}-{protocol}-{ranker}" / "metrics.json"
            cells.append(cell(RunMetrics.read(path).ndcg_at_10) if path.exists() else "")
        if any(cells):
            lines.append(f"| {ranker} | " + " | ".join(cells) + " |")
    return lines


def full_table(runs: Path, prefix: str, rankers) -> list[str]:
    lines = ["| ranker | protocol | NDCG@10 | recall@20 | MRR | coverage@10 | novelty@10 |", "|---|---|---:|---:|---:|---:|---:|"]
    for protocol in ("full", "full-cold"):
        for ranker in rankers:
            path = runs / f"{prefix}-{protocol}-{ranker}" / "metrics.json"
            if path.exists():
                m = RunMetrics.read(path)
                lines.append(f"| {ranker} | {protocol} | {cell(m.ndcg_at_10)} | {cell(m.recall_at_20)} | {cell(m.mrr)} | "
                             f"{cell(m.coverage)} | {cell(m.novelty, 2)} |")
    return lines


def comparisons(runs: Path, prefix: str, protocols, rankers, against) -> list[str]:
    lines = ["| protocol | A | B | users | A NDCG@10 | B NDCG@10 | B - A | 95% CI | B / A |",
             "|---|---|---|---:|---:|---:|---:|---|---:|"]
    for protocol in protocols:
        for base in against:
            a = runs / f"{prefix}-{protocol}-{base}"
            for ranker in rankers:
                b = runs / f"{prefix}-{protocol}-{ranker}"
                if ranker == base or not (a / "rows.jsonl").exists() or not (b / "rows.jsonl").exists():
                    continue
                result = compare_runs(a, b)
                d = result.metrics["ndcg@10"]
                lines.append(f"| {protocol} | {base} | {ranker} | {result.shared_users} | {d.a:.3f} | {d.b:.3f} | "
                             f"{d.delta:+.4f} | [{d.ci95[0]:+.4f}, {d.ci95[1]:+.4f}] | {d.b / d.a:.2f}x |")
    return lines


def main() -> None:
    runs = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    out = ["### ML-1M Comedy -> Sci-Fi, NDCG@10", "", *table(runs, "bb", PROTOCOLS, RANKERS), "",
           "### Full catalogue", "", *full_table(runs, "bb", RANKERS), "",
           "### Paired intervals, NDCG@10 (B - A)", "",
           *comparisons(runs, "bb", PROTOCOLS, ("ease", "ials", "backbone", "hybrid"), ("popularity", "hybrid-before")),
           "", "### The hybrid and EASE against the backbone (the default, iALS)", "",
           *comparisons(runs, "bb", PROTOCOLS, ("hybrid", "hybrid-uniformfit", "ease"), ("backbone",)),
           "", "### ML-1M Romance -> Action, NDCG@10", "",
           *table(runs, "ra", PROTOCOLS, ("popularity", "cross_cooc", "backbone")), "",
           *full_table(runs, "ra", ("popularity", "cross_cooc", "backbone")), "",
           *comparisons(runs, "ra", PROTOCOLS, ("backbone", "cross_cooc"), ("popularity",))]
    print("\n".join(out))


if __name__ == "__main__":
    main()
