"""``scenebridge fit-backbone``: choose, fit and record the collaborative backbone of a scene pair."""

from __future__ import annotations

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


def fit_backbone(
    source: Annotated[str | None, typer.Option(help="Source scene [default: the store's].")] = None,
    target: Annotated[str | None, typer.Option(help="Target scene [default: the store's].")] = None,
    users: Annotated[int | None, typer.Option(min=10, help="Validation users to sweep on [default: all "
                                              "validation-split users active in both scenes].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the validation cases' negatives.")] = 0,
    show: Annotated[bool, typer.Option("--show", help="Print the recorded sweep and choice; fit nothing.")] = False,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Sweep EASE and iALS on validation users (warm and cold apart), fit the winners, and record
    the choice and the default ranker in the store (test users are never read). Every command
    that needs the backbone does this on first use; run it again after changing the sweep."""
    from agent.candidates import load_scene_data
    from agent.selection import select_backbone
    from retrievers import Retriever, SceneStore

    retriever = Retriever(SceneStore(store_path(store)), dataset)
    data = load_scene_data(retriever)
    source = retriever.check_scene(source or data.source)
    target = retriever.check_scene(target or data.target)
    if show:
        from agent.candidates import joint_matrix, read_choice
        from core.errors import ScenebridgeError

        choice = read_choice(data, joint_matrix(data, source, target))
        if choice is None:
            raise ScenebridgeError(f"no backbone recorded for {source} -> {target} in this store", param="show",
                                   hint="run scenebridge fit-backbone (without --show) to fit one")
    else:
        choice = select_backbone(data, source, target, users=users, seed=seed, progress=not json_output)
    if json_output:
        print_json(choice)
        return
    rows = [{"model": r.model, "users": r.warmth, "config": ", ".join(f"{k}={v:g}" for k, v in r.config.items()),
             **{k.replace("ndcg@10_", "NDCG@10 "): v for k, v in r.metrics.items()}, "criterion": r.criterion,
             "fit s": r.fit_seconds}
            for r in sorted(choice.sweep, key=lambda r: (r.warmth, r.model, -r.criterion))]
    print_table(f"Validation sweep, {source} -> {target} ({choice.validation_users.get('warm', 0)} users)", rows)
    for warmth in ("warm", "cold"):
        model = choice.backbone[warmth]
        config = ", ".join(f"{k}={v:g}" for k, v in choice.config(model, warmth).items())
        typer.echo(f"backbone for {warmth} users: {model} ({config})")
    typer.echo(choice.summary())


def register(app: typer.Typer) -> None:
    app.command("fit-backbone")(fit_backbone)
