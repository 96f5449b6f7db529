"""Options and output shared by the commands."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from core.errors import ScenebridgeError
from core.settings import get_settings

StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="Store directory [default: $SCENEBRIDGE_STORE_DIR or "
                 "~/.cache/scenebridge/store]", show_default=False),
]


def _use_chroma_url(value: str | None) -> str | None:
    """The flag overrides SCENEBRIDGE_CHROMA_URL for the whole process: the store is opened well
    below the command (the service, an evaluation, the server's start-up), and the environment is
    the one channel that reaches all of them and the processes they start."""
    if value is not None:
        os.environ["SCENEBRIDGE_CHROMA_URL"] = value
        get_settings.cache_clear()
    return value


ChromaUrlOption = Annotated[
    str | None,
    typer.Option("--chroma-url", callback=_use_chroma_url, show_default=False,
                 help="Chroma server holding the store (http://HOST:PORT, started by 'chroma run --path DIR'); "
                 "--store then keeps only what is fitted here [default: $SCENEBRIDGE_CHROMA_URL, else Chroma "
                 "embedded in --store]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", help="Dataset in the store (needed only when it holds several)."),
]

console = Console()


Model = TypeVar("Model", bound=BaseModel)


def validated(build: Callable[[], Model], command: str, source: str | None = None) -> Model:
    """``build()``, with a bad option value reported as ``--option: why`` (or ``FILE: field: why``
    for a config file) instead of pydantic's error dump."""
    try:
        return build()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        message = error["msg"].removeprefix("Value error, ")
        if not field:  # a rule across options (a protocol and a ranker that do not go together)
            raise ScenebridgeError(message, hint=f"see scenebridge {command} --help") from None
        name = f"{source}: {field}" if source else f"--{field.split('.')[-1].replace('_', '-')}"
        raise ScenebridgeError(f"{name}: {message}", param=field,
                               hint=f"see scenebridge {command} --help") from None


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
