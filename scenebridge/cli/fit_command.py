"""``scenebridge fit-hybrid``: fit the hybrid ranker's fusion weights on validation users."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from scenebridge.cli._common import (
    ChromaUrlOption,
    DatasetOption,
    JsonOption,
    StoreOption,
    print_json,
    print_table,
    store_path,
)
from scenebridge.cli.recommend_command import LlmUrlOption


def fit_hybrid(
    users: Annotated[int, typer.Option(min=10, help="Validation users to fit on.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the user and negative sampling.")] = 0,
    kinds: Annotated[str, typer.Option("--kinds", help="Validation users to fit for: both (warm and cold, one set "
                                       "of weights) | warm | cold (target history hidden).")] = "both",
    permutations: Annotated[int, typer.Option(min=1, max=10, help="Orders per LLM call.")] = 1,
    model: Annotated[str | None, typer.Option(help="Model to fit for: a packaged name or a tuned directory "
                                              "(its weights are saved inside it) [default: the configured one].")] = None,
    skip_if_fitted: Annotated[bool, typer.Option("--skip-if-fitted", help="Do nothing if weights fitted on top of "
                                                 "the backbone are already saved for this model.")] = False,
    llm_url: LlmUrlOption = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fit the weights that fuse the LLM with the candidate generators and the backbone
    (validation users only; evaluations report test users). Saved beside the store; --ranker
    hybrid then uses them, and the hybrid becomes the default ranker only if it beats the backbone
    out of sample on those users."""
    from agent.service import open_service
    from core.errors import ScenebridgeError

    if kinds not in ("both", "warm", "cold"):
        raise ScenebridgeError(f"--kinds {kinds!r}: choose both, warm or cold", param="kinds",
                               hint="both fits one set of weights for warm and cold users (the default)")
    if skip_if_fitted:
        from agent.fusion import FusionWeights
        from agent.service import fusion_path
        from core.settings import get_settings
        from retrievers import Retriever, SceneStore

        retriever = Retriever(SceneStore(store_path(store)), dataset)
        path = fusion_path(store_path(store), retriever.dataset, model or get_settings().llm_model)
        saved = FusionWeights.load(path)
        if saved.fitted and "ndcg@10_backbone_by_kind" in saved.fitted_on:
            typer.echo(f"fusion weights already fitted on top of the backbone ({path}); run without "
                       "--skip-if-fitted to fit them again")
            return
    from evals.fusion_fit import fit, record_default

    async def run():
        async with open_service(store_path(store), dataset=dataset, llm_url=llm_url, model=model) as service:
            weights = await fit(service, users=users, seed=seed, cold=None if kinds == "both" else kinds == "cold",
                                permutations=permutations, progress=not json_output)
            weights.save(service.weights_path)
            return weights, record_default(service, weights)

    weights, choice = asyncio.run(run())
    if json_output:
        print_json(weights)
        return
    print_table("Fitted fusion weights", [{"component": k, "weight": v} for k, v in weights.weights.items()])
    info = weights.fitted_on
    typer.echo(f"NDCG@10 on {info['users']} validation users: fitted {info['ndcg@10']}, "
               f"default weights {info['ndcg@10_default_weights']}; alone: "
               + ", ".join(f"{k} {v}" for k, v in info["ndcg@10_alone"].items()))
    typer.echo(f"hybrid out of sample (weights fitted on the other half): {info['ndcg@10_cross_validated']}, "
               f"backbone alone: {info['ndcg@10_backbone_by_kind']}; default ranker: {choice.default_ranker} "
               f"({choice.decided_by})")


def register(app: typer.Typer) -> None:
    app.command("fit-hybrid")(fit_hybrid)
