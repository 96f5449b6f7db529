"""``scenebridge eval``: offline evaluation runs, and ``eval compare`` for two runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from scenebridge.cli._common import ChromaUrlOption, JsonOption, StoreOption, print_json, print_table, validated
from scenebridge.cli.recommend_command import LlmUrlOption

eval_app = typer.Typer(help="Evaluate rankers offline on real scenes, and compare runs.",
                       invoke_without_command=True, no_args_is_help=False)


@eval_app.callback()
def run_eval(
    ctx: typer.Context,
    protocol: Annotated[str, typer.Option(help="warm | cold (1 held-out + sampled negatives) | retrieved (the "
                                          "system's own candidates) | full | full-cold (every unseen target "
                                          "item)")] = "warm",
    dataset: Annotated[str, typer.Option(help="Dataset in the store.")] = "ml-1m",
    source: Annotated[str, typer.Option(help="Source scene.")] = "Comedy",
    target: Annotated[str, typer.Option(help="Target scene.")] = "Sci-Fi",
    users: Annotated[int, typer.Option(min=1, help="Users to evaluate, from --split.")] = 200,
    split: Annotated[str, typer.Option(help="test (the reported figures) | validation (for choosing a "
                                       "prompt, an order or a model).")] = "test",
    seed: Annotated[int, typer.Option(help="Seed of users, negatives and candidate order.")] = 0,
    ranker: Annotated[str, typer.Option(help="backbone | ease | ials | rerank | verbalizer | listwise | hybrid | random | "
                                        "popularity | itemknn | embedding | cross_cooc")] = "popularity",
    transfer: Annotated[bool, typer.Option(help="--no-transfer: no source-scene evidence (ablation).")] = True,
    prompt: Annotated[str | None, typer.Option(help="Prompt template of an LLM ranker.")] = None,
    permutations: Annotated[int, typer.Option(min=1, max=10, help="Candidate orders per LLM ranking "
                                              "(position-bias control).")] = 1,
    orders: Annotated[str, typer.Option(help="balanced (rotations: every item in every k-th of the list "
                                        "once) | shuffled (seeded shuffles)")] = "balanced",
    negatives: Annotated[str, typer.Option(help="uniform (LLMRank-comparable) | popular (harder)")] = "uniform",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Users in flight at once.")] = 4,
    explain_users: Annotated[int, typer.Option(min=0, help="Users whose top 3 are explained and checked "
                                               "(citations, facts, ragas).")] = 0,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible judge for ragas [default: the "
                                                  "model server].")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Judge model [default: the judge's first].")] = None,
    model: Annotated[str | None, typer.Option(help="Model to rank with: a packaged name or a tuned "
                                              "directory (scenebridge tune) [default: the configured one].")] = None,
    fusion: Annotated[Path | None, typer.Option("--fusion", help="Fusion weights JSON for the hybrid and the "
                                                "prior [default: the store's fit-hybrid result].")] = None,
    llm_url: LlmUrlOption = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    config: Annotated[Path | None, typer.Option("--config", help="A run.toml with these fields.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (resumes if it exists).")] = None,
) -> None:
    """Run one evaluation: rows.jsonl, metrics.json and report.md in --out."""
    if ctx.invoked_subcommand is not None:
        return
    from evals.config import RunConfig
    from evals.run_metrics import RunMetrics
    from evals.runner import run

    if out is None:
        raise typer.BadParameter("give --out runs/NAME (the run directory)", param_hint="--out")
    if config is not None:
        run_config = validated(lambda: RunConfig.from_toml(config), "eval", source=str(config))
    else:
        run_config = validated(lambda: RunConfig(
            protocol=protocol, dataset=dataset, source=source, target=target, users=users, split=split, seed=seed,
            ranker=ranker, transfer=transfer, prompt=prompt, permutations=permutations, orders=orders,
            negatives=negatives, concurrency=concurrency, model=model, fusion=fusion, llm_url=llm_url, store=store,
            explain_users=explain_users, judge_url=judge_url, judge_model=judge_model), "eval")
    asyncio.run(run(run_config, out))
    metrics = RunMetrics.read(out / "metrics.json")
    typer.echo(f"{out}: {metrics.users} users, NDCG@10 {metrics.ndcg_at_10:.4f}, HR@10 {metrics.hr_at_10:.4f}, "
               f"MRR {metrics.mrr:.4f}, fallback rate {metrics.fallback_rate:.3f} (report: {out / 'report.md'})")


@eval_app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="Baseline run directory.")],
    run_b: Annotated[Path, typer.Argument(help="Run compared against it.")],
    resamples: Annotated[int, typer.Option(min=100)] = 2000,
    json_output: JsonOption = False,
) -> None:
    """Metric deltas (B - A) with paired bootstrap 95% intervals over the shared users."""
    from evals.compare import compare_runs

    result = compare_runs(run_a, run_b, resamples=resamples)
    if json_output:
        print_json(result)
        return
    rows = [{"metric": m, "A": v.a, "B": v.b, "B - A": v.delta,
             "95% CI": f"[{v.ci95[0]:+.4f}, {v.ci95[1]:+.4f}]", "significant": "yes" if v.significant else ""}
            for m, v in result.metrics.items()]
    print_table(f"{run_b} vs {run_a}: {result.shared_users} shared users", rows)


@eval_app.command("blend")
def blend_runs(
    validation: Annotated[list[Path], typer.Option("--validation", help="Rerank run(s) on validation users: "
                                                   "the weight is fitted on them.")],
    runs: Annotated[list[Path], typer.Argument(help="Rerank runs to blend with that weight (test users).")],
    suffix: Annotated[str, typer.Option(help="Blended copies go to RUN + SUFFIX.")] = "-blend",
) -> None:
    """The hybrid of both: the re-ranker blended with the backbone's order (log p - w log place), w
    fitted on validation users' rows; writes each run's blended copy (metrics and report too)."""
    from evals.rerank_blend import fit_weight, write_blended
    from evals.runner import rewrite_report

    weight, curve = fit_weight(validation)
    typer.echo("validation NDCG@10 by weight: " + ", ".join(f"{w:g}: {v:.4f}" for w, v in curve.items()))
    typer.echo(f"chosen weight {weight:g}")
    for run in runs:
        out = write_blended(run, weight, run.with_name(run.name + suffix))
        metrics = asyncio.run(rewrite_report(out))
        typer.echo(f"{out}: {metrics.users} users, NDCG@10 {metrics.ndcg_at_10:.4f}")


@eval_app.command("explanations")
def explanations(
    out: Annotated[Path, typer.Option("--out", help="Run directory (resumes if it exists).")],
    users: Annotated[int, typer.Option(min=1, help="Users, drawn from --split.")] = 30,
    k: Annotated[int, typer.Option(min=1, max=20, help="Recommendations explained per user.")] = 5,
    split: Annotated[str, typer.Option(help="validation (choosing the default) | test")] = "validation",
    seed: Annotated[int, typer.Option(help="Seed of the users.")] = 0,
    dataset: Annotated[str, typer.Option(help="Dataset in the store.")] = "ml-1m",
    source: Annotated[str, typer.Option(help="Source scene.")] = "Comedy",
    target: Annotated[str, typer.Option(help="Target scene.")] = "Sci-Fi",
    llm_url: LlmUrlOption = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible judge for ragas Faithfulness (against "
                                                  "the evidence's facts) and AnswerRelevancy of both wordings, e.g. "
                                                  "http://127.0.0.1:8012/v1 ('scenebridge llm serve --chat') or a "
                                                  "bigger model [default: not judged].")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Judge model [default: the judge's first].")] = None,
) -> None:
    """The model's wording against the evidence sentence: the same evidence and checks, and what each
    costs (summary.json and report.md in --out)."""
    from evals.explanation_sources import SourcesConfig, run_sources

    config = validated(lambda: SourcesConfig(users=users, k=k, split=split, seed=seed, dataset=dataset,
                                             source=source, target=target, llm_url=llm_url, store=store,
                                             judge_url=judge_url, judge_model=judge_model),
                       "eval explanations")
    summary = asyncio.run(run_sources(config, out))
    for name in ("evidence", "llm"):
        s = summary[name]
        typer.echo(f"{name}: {s['passed']} / {s['explanations']} passed the checks, "
                   f"{s['seconds_per_explanation']['p50']} s per explanation (p50)")
    typer.echo(f"report: {out / 'report.md'}")


@eval_app.command("report")
def report(runs: Annotated[list[Path], typer.Argument(help="Run directories.")]) -> None:
    """Recompute metrics.json and report.md from the rows of finished runs."""
    from evals.runner import rewrite_report

    for out in runs:
        metrics = asyncio.run(rewrite_report(out))
        typer.echo(f"{out}: {metrics.users} users, NDCG@10 {metrics.ndcg_at_10:.4f}")


@eval_app.command("table")
def table(runs: Annotated[list[Path], typer.Argument(help="Run directories.")]) -> None:
    """A Markdown table of several runs' main metrics (for docs/results.md)."""
    from evals.report import runs_table

    missing = [str(r) for r in runs if not (r / "metrics.json").exists()]
    if missing:
        from core.errors import ScenebridgeError

        raise ScenebridgeError(f"no finished run in {', '.join(missing)}", param="runs",
                               hint="give run directories written by 'scenebridge eval --out'")
    typer.echo(runs_table(runs))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
