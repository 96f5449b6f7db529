"""Data commands: describe scenes, ingest MovieLens, import your own scenes."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings
from scenebridge.cli._common import ChromaUrlOption, JsonOption, StoreOption, print_json, print_table, store_path

DatasetName = Annotated[str, typer.Option("--dataset", help="Packaged dataset: ml-1m or ml-100k.")]
SourceOption = Annotated[
    str, typer.Option("--source", help="Source scene: one genre or several, comma-separated "
                      "(\"Children's,Animation\").")
]
TargetOption = Annotated[str, typer.Option("--target", help="Target scene, same form as --source.")]


def scenes(
    dataset: DatasetName = "ml-1m",
    source: Annotated[str | None, typer.Option(help="Also describe this source scene's split.")] = None,
    target: Annotated[str | None, typer.Option(help="... with this target scene.")] = None,
    min_ratings: Annotated[int | None, typer.Option(help="Ratings that make a user active in a "
                                                    "scene [default: 5]")] = None,
    json_output: JsonOption = False,
) -> None:
    """Genres, items, users and the scene pairs with most users in both."""
    from core.data import load_dataset, scene_overview, split_by_genre
    from core.data.scenes import split_summary

    minimum = min_ratings or get_settings().min_scene_ratings
    data = load_dataset(dataset)
    document = scene_overview(data, min_ratings=minimum)
    if (source is None) != (target is None):
        raise typer.BadParameter("give --source and --target together")
    if source and target:
        document["split"] = split_summary(split_by_genre(data, source, target), data, min_ratings=minimum)
    if json_output:
        print_json(document)
        return
    typer.echo(f"{dataset}: {document['items']} items, {document['users']} users, "
               f"{document['ratings']} ratings")
    print_table("Genres", document["genres"])
    print_table(f"Scene pairs with most users active in both (>= {minimum} ratings each)",
                document["top_pairs"])
    if "split" in document:
        split = document["split"]
        print_table(f"{source} -> {target} ({split['dropped_items']} movies in both dropped)",
                    split["scenes"])
        typer.echo(f"users active in both scenes: {split['users_active_in_all']}")


def ingest(
    dataset: DatasetName = "ml-1m",
    source: SourceOption = "Comedy",
    target: TargetOption = "Sci-Fi",
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    overviews: Annotated[bool, typer.Option(help="Add TMDB overviews to item text where known.")] = True,
    json_output: JsonOption = False,
) -> None:
    """Embed a dataset's items and write per-scene user histories into the store.

    Idempotent (a second run writes nothing) and resumable (interrupt it, run it again).
    Ingesting another scene pair of the same dataset relabels scenes without re-embedding.
    """
    from core.data import load_dataset, split_by_genre
    from retrievers import SceneStore
    from retrievers import ingest as run_ingest

    data = load_dataset(dataset, with_overviews=overviews)
    scene_map = split_by_genre(data, source, target)
    target_store = SceneStore(store_path(store), create=True)
    report = run_ingest(target_store, data, scene_map, batch_size=get_settings().embedding_batch_size,
                        progress=not json_output, source=scene_map.names[0], target=scene_map.names[1])
    _print_report(report, target_store, json_output)


def import_(
    name: Annotated[str, typer.Argument(help="Name for the dataset in the store.")],
    items: Annotated[Path, typer.Option(help="Items file (.csv or .jsonl): item_id, scene, title, "
                                         "text, attributes.")],
    interactions: Annotated[Path, typer.Option(help="Interactions file (.csv or .jsonl): user_id, "
                                                "item_id, timestamp, rating.")],
    store: StoreOption = None,
    chroma_url: ChromaUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import your own scenes. Every row is checked before anything is written."""
    from core.data import import_dataset
    from core.data.scenes import scenes_from_column
    from retrievers import SceneStore
    from retrievers import ingest as run_ingest
    from retrievers.store import check_dataset_name

    check_dataset_name(name)
    data = import_dataset(name, items, interactions)
    scene_map = scenes_from_column(data)
    target_store = SceneStore(store_path(store), create=True)
    report = run_ingest(target_store, data, scene_map, batch_size=get_settings().embedding_batch_size,
                        progress=not json_output)
    _print_report(report, target_store, json_output)


def _print_report(report, store, json_output: bool) -> None:
    document = {**asdict(report), "store": store.location, "store_bytes": store.size_bytes()}
    if json_output:
        print_json(document)
        return
    if not report.changed:
        typer.echo(f"{report.dataset}: already up to date in {store.location} (nothing written)")
    size = "" if document["store_bytes"] is None else f" {document['store_bytes'] / 1e6:.1f} MB"
    typer.echo(
        f"{report.dataset}: {report.items_total} items ({report.items_embedded} embedded, "
        f"{report.items_relabelled} relabelled), {report.histories_total} user-scene histories "
        f"({report.histories_written} written) in {report.seconds:.1f} s; "
        f"store{size} at {store.location}"
    )


def register(app: typer.Typer) -> None:
    app.command()(scenes)
    app.command()(ingest)
    app.command("import")(import_)
