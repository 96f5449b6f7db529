"""Import a user's own scenes from CSV or JSONL files.

Items: ``item_id, scene, title`` required, ``text, attributes`` optional (attributes is a JSON
object; in CSV, a JSON string). Interactions: ``user_id, item_id, timestamp`` required,
``rating`` optional; timestamps are epoch seconds or ISO 8601.

Every row is validated before anything is returned, so a bad file leaves nothing behind; errors
name the file, the line, the field and the fix (up to ``MAX_REPORTED`` of them at once).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.dataset import Dataset
from core.errors import DataError, RowError

MAX_REPORTED = 20


class InvalidRowsError(DataError):
    """Raised with every bad row found (up to ``MAX_REPORTED``)."""

    def __init__(self, errors: list[RowError], truncated: bool):
        more = " (and more)" if truncated else ""
        lines = "\n".join(f"  {e.message}: {e.hint}" for e in errors)
        super().__init__(
            f"{len(errors)} invalid row(s){more}; nothing was imported:\n{lines}",
            hint="fix the rows above and run the import again",
            param=errors[0].field,
        )
        self.errors = errors


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a CSV or JSONL file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, row
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise RowError(path.name, number, "<line>", f"not valid JSON ({exc.msg})",
                                   "write one JSON object per line") from None
                if not isinstance(row, dict):
                    raise RowError(path.name, number, "<line>", "not a JSON object",
                                   'write one object per line, e.g. {"item_id": ...}')
                yield number, row
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}", hint="use .csv or .jsonl", param="path")


class _FieldError(ValueError):
    """A bad value in one field of the row being parsed."""

    def __init__(self, field: str, problem: str, fix: str):
        super().__init__(problem)
        self.field, self.problem, self.fix = field, problem, fix


def _text(row: dict, field: str, required: bool) -> str | None:
    value = row.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _FieldError(field, "missing or empty", f"give every row a non-empty {field}")
        return None
    if not isinstance(value, str | int):
        raise _FieldError(field, f"must be text, got {type(value).__name__}", f"write {field} as a string")
    return str(value).strip()


def _number(row: dict, field: str, required: bool) -> float | None:
    value = row.get(field)
    if value is None or value == "":
        if required:
            raise _FieldError(field, "missing", f"give every row a {field}")
        return None
    if isinstance(value, bool):
        raise _FieldError(field, "is a boolean", f"write {field} as a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        if field == "timestamp" and isinstance(value, str):
            try:
                return datetime.fromisoformat(value).timestamp()
            except ValueError:
                pass
            raise _FieldError(field, f"{value!r} is not a time",
                              "use epoch seconds or ISO 8601 (2024-05-01T12:00:00)") from None
        raise _FieldError(field, f"{value!r} is not a number", f"write {field} as a number, e.g. 4.5") from None


def _attributes(row: dict) -> dict:
    value = row.get("attributes")
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _FieldError("attributes", "not JSON", 'write a JSON object, e.g. {"genre": "jazz"}') from None
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | float | bool) for v in value.values()
    ):
        raise _FieldError("attributes", "must be an object of plain values",
                          'use strings, numbers or booleans, e.g. {"genre": "jazz", "minutes": 42}')
    return value


def _collect(path: Path, parse, errors: list[RowError]) -> list:
    parsed = []
    for line, row in _rows(path):
        try:
            parsed.append(parse(row, line))
        except _FieldError as exc:
            errors.append(RowError(path.name, line, exc.field, exc.problem, exc.fix))
            if len(errors) > MAX_REPORTED:
                break
    return parsed


def import_dataset(name: str, items_path: Path, interactions_path: Path) -> Dataset:
    """Read and validate both files; raise ``InvalidRowsError`` listing every bad row."""
    for path in (items_path, interactions_path):
        if not path.is_file():
            raise DataError(f"no such file: {path}", hint="check the path", param="path")
    errors: list[RowError] = []
    seen: set[str] = set()

    def parse_item(row: dict, line: int) -> dict:
        item_id = _text(row, "item_id", True)
        if item_id in seen:
            raise _FieldError("item_id", f"{item_id!r} appears twice", "give each item one row")
        seen.add(item_id)
        return {
            "item_id": item_id,
            "scene": _text(row, "scene", True),
            "title": _text(row, "title", True),
            "text": _text(row, "text", False) or "",
            "attributes": _attributes(row),
        }

    def parse_interaction(row: dict, line: int) -> dict:
        item_id = _text(row, "item_id", True)
        if item_id not in seen:
            raise _FieldError("item_id", f"{item_id!r} is not in {items_path.name}",
                              "add the item to the items file or drop this interaction")
        return {
            "user_id": _text(row, "user_id", True),
            "item_id": item_id,
            "timestamp": _number(row, "timestamp", True),
            "rating": _number(row, "rating", False),
        }

    items = _collect(items_path, parse_item, errors)
    interactions = _collect(interactions_path, parse_interaction, errors) if not errors else []
    if errors:
        raise InvalidRowsError(errors[:MAX_REPORTED], truncated=len(errors) > MAX_REPORTED)
    if not items:
        raise DataError(f"{items_path} has no items", hint="add at least one item row", param="items")
    item_frame = pd.DataFrame(items).set_index("item_id")
    item_frame["year"] = pd.array([None] * len(item_frame), dtype="Int64")
    item_frame["genres"] = [() for _ in range(len(item_frame))]
    interaction_frame = pd.DataFrame(interactions, columns=["user_id", "item_id", "timestamp", "rating"])
    return Dataset(name=name, items=item_frame, interactions=interaction_frame)
