"""Options and output shared by the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from scenebridge.settings import get_settings

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Store directory [default: $SCENEBRIDGE_STORE_DIR or "
                 "~/.cache/scenebridge/store]", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", help="Dataset in the store (needed only when it holds several)."),
]

console = Console()


def store_path(store: Path | None) -> Path:
    return store or get_settings().store_path


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, default=_plain, ensure_ascii=False))


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    table = Table(title=title, title_justify="left")
    for column in columns:
        numeric = bool(rows) and isinstance(rows[0].get(column), int | float)
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
