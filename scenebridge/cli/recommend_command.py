"""``scenebridge recommend``: ranked, explained recommendations for a user or a set of likes."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from scenebridge.cli._common import (
    ChromaUrlOption,
    DatasetOption,
    JsonOption,
    StoreOption,
    console,
    print_json,
    store_path,
)

LlmUrlOption = Annotated[
    str | None,
    typer.Option("--llm-url", help="A running OpenAI-compatible server (…/v1), e.g. a GPU vLLM with a "
                 "bigger model. Default: the local vLLM, started if none is running."),
]


def recommend(
    target: Annotated[str, typer.Option("--target", help="Scene to recommend in (Sci-Fi).")],
    user: Annotated[str | None, typer.Option("--user", help="User id of the dataset (ML-1M: 1m_1).")] = None,
    likes: Annotated[str | None, typer.Option("--likes", help="Titles a person not in the data likes, "
                                              "';'-separated: \"Groundhog Day; Annie Hall\".")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Scene of the evidence [default: the "
                                               "store's source scene].")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many to recommend.")] = 10,
    ranker: Annotated[str | None, typer.Option("--ranker", help="backbone | ease | ials | rerank | verbalizer | "
                                               "listwise | hybrid [default: the store's default ranker, chosen on validation "
                                               "users; scenebridge info shows it].")] = None,
    permutations: Annotated[int, typer.Option("--permutations", min=1, max=10,
                                              help="Candidate orders averaged against position bias (rotations: 4 "
                                                   "list every candidate once in every quarter).")] = 1,
    candidates: Annotated[str | None, typer.Option("--candidates", help="Item ids to rank, ';'-separated "
                                                   "[default: generated].")] = None,
    n_candidates: Annotated[int, typer.Option("--n-candidates", min=2, max=100,
                                              help="Candidates generated for the ranker.")] = 20,
    explain: Annotated[bool, typer.Option(help="Explain each recommendation.")] = True,
    explanations: Annotated[str, typer.Option(
        "--explanations", help="evidence: a sentence built from the evidence, no model call (ms, all true by the checks); "
        "llm: the model words each one, used where it passes the checks (seconds each on a CPU; "
        "docs/results.md, 'Explanation quality').")] = "evidence",
    llm_url: LlmUrlOption = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recommend items of a target scene from the user's other scenes: candidates from the
    collaborative backbone, ranked by the store's default ranker (or --ranker), each explained by
    the user's own items that made its score."""
    from agent.requests import RecommendRequest
    from core.errors import ScenebridgeError

    if explanations not in ("llm", "evidence"):
        raise ScenebridgeError(f"unknown --explanations {explanations!r}", hint="use evidence or llm",
                               param="explanations")
    split = lambda text: [part.strip() for part in text.split(";") if part.strip()]  # noqa: E731
    try:
        request = RecommendRequest(
            user_id=user, likes=split(likes) if likes else [], target_scene=target, source_scene=source,
            candidates=split(candidates) if candidates else None, k=k, n_candidates=n_candidates,
            ranker=ranker, permutations=permutations, explain=explain,
        )
    except ValueError as exc:
        raise ScenebridgeError(str(exc).splitlines()[-1], hint="use --user ID or --likes \"Title; Title\"",
                               param="user") from None
    result = asyncio.run(_run(request, llm_url, store, dataset, explanations))
    if json_output:
        print_json(result)
        return
    _print(result)


async def _run(request, llm_url, store, dataset, explanations: str = "evidence"):
    from agent.explain import Explainer
    from agent.service import open_service

    async with open_service(store_path(store), dataset=dataset, llm_url=llm_url, progress=True) as service:
        if explanations == "evidence":  # as `scenebridge serve` does: no model time spent on wording
            service.recommender.explainer = Explainer(None)
        return await service.recommend(request)


def _print(result) -> None:
    from rich.table import Table

    who = result.user or "someone who likes " + "; ".join(result.likes)
    table = Table(title=f"{result.target_scene} for {who} (evidence: {result.source_scene})", title_justify="left")
    for column, justify in (("#", "right"), ("item", "left"), ("score", "right"), ("why", "left")):
        table.add_column(column, justify=justify)
    for item in result.items:
        why = item.explanation or ""
        if item.evidence:
            why += f"\n[dim]evidence: {'; '.join(item.evidence)}[/dim]"
        table.add_row(str(item.rank), item.item_id, f"{item.score:.3f}", why)
    console.print(table)
    prompt = f"{result.prompt.template}@{result.prompt.sha256[:8]}" if result.prompt else "-"
    console.print(f"ranker {result.ranker}, model {result.working_model or '-'}, prompt {prompt}, "
                  f"{result.candidates} candidates; " + ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()))
    if result.fallback:
        console.print(f"[yellow]fallback: ranked by candidate scores ({result.fallback})[/yellow]")


def register(app: typer.Typer) -> None:
    app.command()(recommend)
