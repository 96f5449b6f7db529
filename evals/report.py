"""Aggregate a run's rows into ``metrics.json`` and ``report.md`` with PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agent.cases import HR_KS, NDCG_KS
from evals.config import RunConfig
from evals.metrics import catalogue_coverage, intra_list_diversity, novelty, position_spread, position_spread_null


def read_rows(out: Path) -> list[dict]:
    rows = []
    with (out / "rows.jsonl").open() as handle:
        for line in handle:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return rows


def explanation_summary(path: Path) -> dict | None:
    """The checks of explanations.jsonl, summarised; None when the run explained nothing."""
    if not path.exists():
        return None
    from evals.explanations import ExplanationCheck, summarize

    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    checks = [ExplanationCheck.model_validate(c) for line in lines for c in line["checks"]]
    summary = summarize(checks, None)
    judges = sorted({line["judge"] for line in lines if line.get("judge")})
    summary["judge"] = ", ".join(judges) or None
    return summary


def aggregate(rows: list[dict], config: RunConfig, data, out: Path | None = None) -> dict:
    n = len(rows)
    keys = list(rows[0]["metrics"]) if rows else []
    metrics: dict = {key: float(np.mean([r["metrics"][key] for r in rows])) for key in keys}
    metrics["users"] = n
    errors = [r["errors"] for r in rows]
    metrics["invalid_rate"] = float(np.mean([e["invalid"] > 0 for e in errors])) if n else 0.0
    for field in ("out_of_candidates", "duplicates", "missing"):
        metrics[f"{field}_rate"] = float(np.mean([e[field] > 0 for e in errors])) if n else 0.0
    metrics["fallback_rate"] = float(np.mean([r["fallback"] is not None for r in rows])) if n else 0.0
    seen = 0
    for row in rows:
        history = {e.item_id for e in data.history(row["user"], config.target)[: row["target_history"]]}
        seen += bool(history & set(row["ranking"][: config.k]))
    metrics["history_error_rate"] = seen / n if n else 0.0

    placed = [r for r in rows if r["true_position"] is not None]
    position = np.array([r["true_position"] for r in placed], dtype=int)
    ndcg = np.array([r["metrics"]["ndcg@10"] for r in placed])
    metrics["ndcg@10_by_position"] = {int(p): float(ndcg[position == p].mean()) for p in np.unique(position)}
    # Spread over four position quarters (1-5, 6-10, ...): ~n/4 users each, so sampling noise does
    # not pass for position bias the way it would over 20 single positions of ~n/20 users; the
    # null (quarters shuffled over users) says how much spread that noise still makes.
    quarter = position * 4 // np.array([max(len(r["candidates"]), 1) for r in placed], dtype=int)
    metrics["ndcg@10_by_position_quarter"] = {f"q{q + 1}": float(ndcg[quarter == q].mean())
                                              for q in np.unique(quarter)}
    if len(placed) and metrics.get("ndcg@10"):
        metrics["position_spread"] = position_spread(quarter, ndcg, metrics["ndcg@10"])
        metrics["position_spread_null"], metrics["position_spread_p"] = position_spread_null(
            quarter, ndcg, metrics["ndcg@10"], seed=config.seed)

    if config.protocol == "retrieved":
        scene = data.scene(config.target)
        lists = [r["ranking"][: config.k] for r in rows]
        popularity = dict(zip(scene.items.tolist(), scene.popularity.tolist(), strict=True))
        vectors = {str(i): scene.vectors[n] for n, i in enumerate(scene.items)}
        metrics["coverage"] = catalogue_coverage(lists, scene.n_items)
        metrics["novelty"] = novelty(lists, popularity, len(data.users))
        metrics["intra_list_diversity"] = intra_list_diversity(lists, vectors)
        metrics["held_out_retrieved_rate"] = float(np.mean([r["held_out"] in r["candidates"] for r in rows]))

    explained = explanation_summary(out / "explanations.jsonl") if out else None
    if explained is not None:
        metrics.update(explained)

    if out is not None and (out / "wall_seconds.txt").exists():
        metrics["wall_seconds"] = float((out / "wall_seconds.txt").read_text())
    totals = [r["timings"]["total"] for r in rows]
    if totals:
        metrics["seconds_p50"] = float(np.percentile(totals, 50))
        metrics["seconds_p95"] = float(np.percentile(totals, 95))
    return metrics


def _save(fig, ax, path: Path, xlabel: str) -> str:
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel("NDCG@10")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plots(out: Path, metrics: dict, rows: list[dict], title: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar([f"@{k}" for k in NDCG_KS], [metrics[f"ndcg@{k}"] for k in NDCG_KS], color="#4878a8")
    ax.set_ylim(0, 1)
    ax.set_ylabel("NDCG")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "ndcg_at_k.png", dpi=110)
    plt.close(fig)
    made.append("ndcg_at_k.png")

    if metrics.get("ndcg@10_by_position"):
        positions = metrics["ndcg@10_by_position"]
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([int(p) + 1 for p in positions], list(positions.values()), marker="o")
        ax.axhline(metrics["ndcg@10"], color="grey", linestyle="--", linewidth=1)
        made.append(_save(fig, ax, out / "ndcg_by_position.png",
                          "position of the true item in the listed candidates"))

    lengths = np.array([r["source_history"] for r in rows])
    if len(rows) >= 8:
        edges = np.unique(np.quantile(lengths, [0, 0.25, 0.5, 0.75, 1.0]))
        groups = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
        labels, values = [], []
        for g in range(len(edges) - 1):
            chosen = [r["metrics"]["ndcg@10"] for r, x in zip(rows, groups, strict=True) if x == g]
            if chosen:
                labels.append(f"{int(edges[g])}-{int(edges[g + 1])}")
                values.append(float(np.mean(chosen)))
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(labels, values, color="#6aa84f")
        made.append(_save(fig, ax, out / "ndcg_by_source_history.png", "source-scene history length (quartiles)"))
    return made


def write_report(out: Path, config: RunConfig, retriever, data) -> dict:
    rows = read_rows(out)
    metrics = aggregate(rows, config, data, out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    title = (f"{config.ranker}{'' if config.transfer else ' (no transfer)'}, {config.protocol}, "
             f"{config.source} -> {config.target}, {metrics['users']} users")
    plots = _plots(out, metrics, rows, title) if rows else []
    lines = [f"# {title}", "", "Config:", "", "```json", config.model_dump_json(indent=2), "```", "",
             "| metric | value |", "|---|---:|"]
    for key in [*(f"ndcg@{k}" for k in NDCG_KS), *(f"hr@{k}" for k in HR_KS), "mrr", "precision@10",
                "recall@10", "invalid_rate", "out_of_candidates_rate", "duplicates_rate", "missing_rate",
                "history_error_rate", "fallback_rate", "position_spread", "position_spread_null",
                "position_spread_p", "coverage", "novelty",
                "intra_list_diversity", "held_out_retrieved_rate", "seconds_p50", "seconds_p95",
                "explanation_citation_validity", "explanation_fact_validity", "explanation_llm_worded_rate",
                "ragas_faithfulness", "ragas_answer_relevancy", "ragas_evidence_named"]:
        if isinstance(metrics.get(key), float):
            lines.append(f"| {key} | {metrics[key]:.4f} |")
    if metrics.get("explanations"):
        lines += ["", f"Explanations: {metrics['explanations']} checked; ragas judge: "
                  f"{metrics.get('judge') or 'none'} ({metrics.get('ragas_judged', 0)} judged).",
                  *(f"- not scored, {why}: {n}" for why, n in sorted(metrics.get("ragas_judge_errors", {}).items()))]
    lines += ["", *(f"![{p}]({p})" for p in plots), ""]
    (out / "report.md").write_text("\n".join(lines))
    return metrics


TABLE_COLUMNS = ("ndcg@10", "hr@10", "ndcg@5", "mrr", "invalid_rate", "fallback_rate", "position_spread",
                 "wall_seconds")


def runs_table(runs: list[Path]) -> str:
    """A Markdown table of several runs (for docs/results.md)."""
    lines = ["| run | ranker | protocol | negatives | transfer | users | " + " | ".join(TABLE_COLUMNS) + " |",
             "|---|---|---|---|---|---:|" + "---:|" * len(TABLE_COLUMNS)]
    for out in runs:
        config = RunConfig.from_run_dir(json.loads((out / "config.json").read_text()))
        metrics = json.loads((out / "metrics.json").read_text())
        cells = [f"{metrics[c]:.3f}" if isinstance(metrics.get(c), float) else "" for c in TABLE_COLUMNS]
        if isinstance(metrics.get("wall_seconds"), float):
            cells[-1] = f"{metrics['wall_seconds']:.0f} s"
        lines.append(f"| {out.name} | {config.ranker} | {config.protocol} | {config.negatives} | "
                     f"{'yes' if config.transfer else 'no'} | {metrics['users']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
