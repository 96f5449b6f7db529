"""Aggregate a run's rows into ``metrics.json`` and ``report.md`` with PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.cases import FULL_PROTOCOLS, HR_KS, NDCG_KS
from evals.config import RunConfig
from evals.metrics import catalogue_coverage, intra_list_diversity, novelty, position_spread, position_spread_null
from evals.rows import EvalRow, read_explained, read_rows
from evals.run_metrics import RunMetrics


def explanation_summary(path: Path) -> dict | None:
    """The checks of explanations.jsonl, summarised; None when the run explained nothing."""
    if not path.exists():
        return None
    from evals.explanations import summarize

    explained = read_explained(path)
    summary = summarize([c for user in explained for c in user.checks], None)
    judges = sorted({user.judge for user in explained if user.judge})
    summary["judge"] = ", ".join(judges) or None
    return summary


def accuracy(rows: Sequence[EvalRow]) -> dict[str, float | int]:
    """Each per-case metric's mean over the rows (metrics.json keys), and how many users."""
    keys = list(rows[0].metrics) if rows else []
    return {key: float(np.mean([r.metrics[key] for r in rows])) for key in keys} | {"users": len(rows)}


BACKBONE_BINS = ((1, 5, "1-5"), (6, 10, "6-10"), (11, 20, "11-20"), (21, None, ">20"))


def backbone_position_table(rows: Sequence[EvalRow]) -> dict[str, dict[str, float]]:
    """Mean NDCG@10 and users by where the backbone placed the true item."""
    out = {}
    for low, high, name in BACKBONE_BINS:
        chosen = [r.metrics["ndcg@10"] for r in rows if r.backbone_position is not None
                  and low <= r.backbone_position and (high is None or r.backbone_position <= high)]
        if chosen:
            out[name] = {"ndcg@10": float(np.mean(chosen)), "users": len(chosen)}
    return out


def aggregate(rows: list[EvalRow], config: RunConfig, data, out: Path | None = None) -> RunMetrics:
    n = len(rows)
    metrics: dict = accuracy(rows)
    errors = [r.errors for r in rows]
    for field in ("invalid", "out_of_candidates", "duplicates", "missing"):
        metrics[f"{field}_rate"] = float(np.mean([getattr(e, field) > 0 for e in errors])) if n else 0.0
    metrics["fallback_rate"] = float(np.mean([r.fallback is not None for r in rows])) if n else 0.0
    seen = 0
    for row in rows:
        history = {e.item_id for e in data.history(row.user, config.target)[: row.target_history]}
        seen += bool(history & set(row.ranking[: config.k]))
    metrics["history_error_rate"] = seen / n if n else 0.0

    placed = [r for r in rows if r.true_position is not None]
    position = np.array([r.true_position for r in placed], dtype=int)
    ndcg = np.array([r.metrics["ndcg@10"] for r in placed])
    metrics["ndcg@10_by_position"] = {int(p): float(ndcg[position == p].mean()) for p in np.unique(position)}
    # Spread over four position quarters (1-5, 6-10, ...): ~n/4 users each, so sampling noise does
    # not pass for position bias the way it would over 20 single positions of ~n/20 users; the
    # null (quarters shuffled over users) says how much spread that noise still makes.
    quarter = position * 4 // np.array([max(len(r.candidates), 1) for r in placed], dtype=int)
    metrics["ndcg@10_by_position_quarter"] = {f"q{q + 1}": float(ndcg[quarter == q].mean())
                                              for q in np.unique(quarter)}
    if len(placed) and metrics.get("ndcg@10"):
        metrics["position_spread"] = position_spread(quarter, ndcg, metrics["ndcg@10"])
        metrics["position_spread_null"], metrics["position_spread_p"] = position_spread_null(
            quarter, ndcg, metrics["ndcg@10"], seed=config.seed)

    by_backbone = backbone_position_table(rows)
    if by_backbone:
        metrics["ndcg@10_by_backbone_position"] = by_backbone

    if config.protocol in ("retrieved", *FULL_PROTOCOLS):
        scene = data.scene(config.target)
        lists = [r.ranking[: config.k] for r in rows]
        popularity = dict(zip(scene.items.tolist(), scene.popularity.tolist(), strict=True))
        vectors = {str(i): scene.vectors[n] for n, i in enumerate(scene.items)}
        metrics["coverage"] = catalogue_coverage(lists, scene.n_items)
        metrics["novelty"] = novelty(lists, popularity, len(data.users))
        metrics["intra_list_diversity"] = intra_list_diversity(lists, vectors)
        metrics["held_out_retrieved_rate"] = float(np.mean([r.held_out in r.candidates for r in rows]))

    explained = explanation_summary(out / "explanations.jsonl") if out else None
    if explained is not None:
        metrics.update(explained)

    if out is not None and (out / "wall_seconds.txt").exists():
        metrics["wall_seconds"] = float((out / "wall_seconds.txt").read_text())
    totals = [r.timings.total for r in rows]
    if totals:
        metrics["seconds_p50"] = float(np.percentile(totals, 50))
        metrics["seconds_p95"] = float(np.percentile(totals, 95))
    return RunMetrics.model_validate(metrics)


def _save(fig, ax, path: Path, xlabel: str) -> str:
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel("NDCG@10")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plots(out: Path, metrics: RunMetrics, rows: list[EvalRow], title: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, ax = plt.subplots(figsize=(5, 3))
    values = metrics.by_key()
    ax.bar([f"@{k}" for k in NDCG_KS], [values[f"ndcg@{k}"] for k in NDCG_KS], color="#4878a8")
    ax.set_ylim(0, 1)
    ax.set_ylabel("NDCG")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "ndcg_at_k.png", dpi=110)
    plt.close(fig)
    made.append("ndcg_at_k.png")

    if metrics.ndcg_at_10_by_position:
        positions = metrics.ndcg_at_10_by_position
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([int(p) + 1 for p in positions], list(positions.values()), marker="o")
        ax.axhline(metrics.ndcg_at_10, color="grey", linestyle="--", linewidth=1)
        made.append(_save(fig, ax, out / "ndcg_by_position.png",
                          "position of the true item in the listed candidates"))

    lengths = np.array([r.source_history for r in rows])
    if len(rows) >= 8:
        edges = np.unique(np.quantile(lengths, [0, 0.25, 0.5, 0.75, 1.0]))
        groups = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
        labels, values = [], []
        for g in range(len(edges) - 1):
            chosen = [r.metrics["ndcg@10"] for r, x in zip(rows, groups, strict=True) if x == g]
            if chosen:
                labels.append(f"{int(edges[g])}-{int(edges[g + 1])}")
                values.append(float(np.mean(chosen)))
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(labels, values, color="#6aa84f")
        made.append(_save(fig, ax, out / "ndcg_by_source_history.png", "source-scene history length (quartiles)"))
    return made


def write_report(out: Path, config: RunConfig, retriever, data) -> RunMetrics:
    rows = read_rows(out)
    metrics = aggregate(rows, config, data, out)
    (out / "metrics.json").write_text(metrics.to_json())
    title = (f"{config.ranker}{'' if config.transfer else ' (no transfer)'}, {config.protocol}, "
             f"{config.source} -> {config.target}, {metrics.users} users")
    plots = _plots(out, metrics, rows, title) if rows else []
    lines = [f"# {title}", "", "Config:", "", "```json", config.model_dump_json(indent=2), "```", "",
             "| metric | value |", "|---|---:|"]
    values = metrics.by_key()
    for key in [*(f"ndcg@{k}" for k in NDCG_KS), *(f"hr@{k}" for k in HR_KS), "mrr", "precision@10",
                "recall@10", "recall@20", "invalid_rate", "out_of_candidates_rate", "duplicates_rate", "missing_rate",
                "history_error_rate", "fallback_rate", "position_spread", "position_spread_null",
                "position_spread_p", "coverage", "novelty",
                "intra_list_diversity", "held_out_retrieved_rate", "seconds_p50", "seconds_p95",
                "explanation_citation_validity", "explanation_fact_validity", "explanation_llm_worded_rate",
                "ragas_faithfulness", "ragas_answer_relevancy", "ragas_evidence_named"]:
        if isinstance(values.get(key), float):
            lines.append(f"| {key} | {values[key]:.4f} |")
    if metrics.explanations:
        lines += ["", (f"Explanations: {metrics.explanations} checked; ragas judge: "
                       f"{metrics.judge or 'none'} ({metrics.ragas_judged or 0} judged)."),
                  *(f"- not scored, {why}: {n}" for why, n in sorted((metrics.ragas_judge_errors or {}).items()))]
    if metrics.ndcg_at_10_by_backbone_position:
        lines += ["", "NDCG@10 by the true item's place in the backbone's order:", "",
                  "| backbone place | users | NDCG@10 |", "|---|---:|---:|",
                  *(f"| {k} | {v['users']:.0f} | {v['ndcg@10']:.4f} |"
                    for k, v in metrics.ndcg_at_10_by_backbone_position.items())]
    lines += ["", *(f"![{p}]({p})" for p in plots), ""]
    (out / "report.md").write_text("\n".join(lines))
    return metrics


TABLE_COLUMNS = ("ndcg@10", "hr@10", "ndcg@5", "mrr", "recall@20", "coverage", "novelty", "invalid_rate",
                 "fallback_rate", "position_spread", "wall_seconds")


def runs_table(runs: list[Path]) -> str:
    """A Markdown table of several runs (for docs/results.md)."""
    lines = ["| run | ranker | protocol | negatives | transfer | users | " + " | ".join(TABLE_COLUMNS) + " |",
             "|---|---|---|---|---|---:|" + "---:|" * len(TABLE_COLUMNS)]
    for out in runs:
        config = RunConfig.from_run_dir(json.loads((out / "config.json").read_text()))
        metrics = RunMetrics.read(out / "metrics.json")
        values = metrics.by_key()
        cells = [f"{values[c]:.3f}" if isinstance(values.get(c), float) else "" for c in TABLE_COLUMNS]
        if metrics.wall_seconds is not None:
            cells[-1] = f"{metrics.wall_seconds:.0f} s"
        lines.append(f"| {out.name} | {config.ranker} | {config.protocol} | {config.negatives} | "
                     f"{'yes' if config.transfer else 'no'} | {metrics.users} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
