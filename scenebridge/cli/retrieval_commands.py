"""Retrieval commands: similar items, a user's history, free-text search, store info."""

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

KOption = Annotated[int, typer.Option("--k", min=1, max=1000, help="How many items to return.")]
SceneOption = Annotated[str | None, typer.Option("--scene", help="Only items of this scene.")]


def _retriever(store, dataset):
    from retrievers import Retriever, SceneStore

    return Retriever(SceneStore(store_path(store)), dataset)


def _scored_rows(scored) -> list[dict]:
    return [
        {"rank": n, "item_id": s.item.item_id, "scene": s.item.scene or "", "score": round(s.score, 4),
         "genres": list(s.item.genres)}
        for n, s in enumerate(scored, start=1)
    ]


def similar(
    title: Annotated[str, typer.Argument(help="A title as you would type it (\"Groundhog Day\") or an item id.")],
    scene: SceneOption = None,
    k: KOption = 10,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Items most similar to a title, optionally within one scene."""
    retriever = _retriever(store, dataset)
    scene = retriever.check_scene(scene)
    item = retriever.resolve(title)
    neighbours = retriever.similar(item.item_id, scene=scene, k=k)
    if json_output:
        print_json({"query": title, "item": item, "scene": scene, "results": _scored_rows(neighbours)})
        return
    where = f" in {scene}" if scene else ""
    print_table(f"Most similar to {item.item_id}{where}", _scored_rows(neighbours))


def search(
    text: Annotated[str, typer.Argument(help="Title words or a description.")],
    scene: SceneOption = None,
    k: KOption = 10,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """Free-text search: titles first (typos forgiven), then meaning."""
    results = _retriever(store, dataset).search(text, k=k, scene=scene)
    if json_output:
        print_json({"query": text, "scene": scene, "results": _scored_rows(results)})
        return
    print_table(f"Search: {text}", _scored_rows(results))


def history(
    user: Annotated[str, typer.Argument(help="User id as in the dataset (ML-1M: 1m_1).")],
    scene: Annotated[str, typer.Option("--scene", help="Scene of the history.")],
    limit: Annotated[int | None, typer.Option(help="Show only the most recent N.")] = None,
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    dataset: DatasetOption = None,
    json_output: JsonOption = False,
) -> None:
    """A user's history in one scene, oldest first."""
    from datetime import UTC, datetime

    retriever = _retriever(store, dataset)
    result = retriever.history(user, scene)
    entries = result.entries[-limit:] if limit else result.entries
    if json_output:
        print_json({"user": user, "scene": result.scene, "count": len(result), "items": entries})
        return
    rows = [
        {"item_id": e.item_id, "rating": e.rating,
         "date": datetime.fromtimestamp(e.timestamp, UTC).date().isoformat()}
        for e in entries
    ]
    print_table(f"{user} in {result.scene}: {len(result)} items", rows, ["date", "item_id", "rating"])


def info(store: StoreOption = None, chroma_url: ChromaUrlOption = None, json_output: JsonOption = False) -> None:
    """What the store holds: datasets, scene splits, counts, size, and for each scene pair the
    backbone and default ranker chosen on validation users (scenebridge fit-backbone)."""
    from agent.candidates import joint_matrix, load_scene_data, recorded_choices
    from retrievers import Retriever, SceneStore

    target = SceneStore(store_path(store))
    datasets = {name: entry.model_dump() for name, entry in target.datasets().items()}
    choices = {}
    for name, entry in target.datasets().items():
        pair = [c for c in recorded_choices(target.path, name) if (c.source, c.target) == (entry.source, entry.target)]
        if pair and entry.complete:  # the choice that holds is the one fitted on the data as it is now
            fingerprint = joint_matrix(load_scene_data(Retriever(target, name)), entry.source, entry.target).fingerprint
            current = [c for c in pair if c.fingerprint == fingerprint]
            if current:
                choices[name] = current[0]
    for name, choice in choices.items():
        datasets[name]["backbone"] = {
            "pair": f"{choice.source} -> {choice.target}", "models": choice.backbone,
            "configs": {w: choice.config(m, w) for w, m in choice.backbone.items()},
            "default_ranker": choice.default_ranker, "decided_by": choice.decided_by,
            "validation": {n: s.model_dump() for n, s in choice.rankers.items()},
            "validation_users": choice.validation_users, "fitted_at": choice.fitted_at}
    document = {"store": target.location, "bytes": target.size_bytes(), "datasets": datasets}
    if json_output:
        print_json(document)
        return
    rows = [{"dataset": name, **{k: v for k, v in entry.items() if k in
             ("split", "items", "histories", "users", "complete", "ingested_at")}}
            for name, entry in document["datasets"].items()]
    size = "" if document["bytes"] is None else f" ({document['bytes'] / 1e6:.1f} MB)"
    print_table(f"{target.location}{size}", rows)
    for name in datasets:
        choice = choices.get(name)
        if choice is None:
            typer.echo(f"{name}: no backbone fitted yet (scenebridge fit-backbone, or on first use)")
            continue
        models = ", ".join(f"{w} users {m} ({', '.join(f'{k}={v:g}' for k, v in choice.config(m, w).items())})"
                           for w, m in choice.backbone.items())
        typer.echo(f"{name} {choice.source} -> {choice.target}: backbone {models}; {choice.summary()}")


def register(app: typer.Typer) -> None:
    for command in (similar, search, history, info):
        app.command()(command)
