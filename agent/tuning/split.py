"""The users a tuning run learned from, kept beside the tuned model (``DIR/split.json``) so that
an evaluation can refuse to report them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from core.errors import ScenebridgeError

SPLIT_FILE = "split.json"


class Split(BaseModel):
    dataset: str
    source: str
    target: str
    train: list[str]
    validation: list[str]


def read_split(model_dir: str | Path | None) -> Split | None:
    """The split of a tuned model directory; None for a packaged model or an untuned directory."""
    if model_dir is None:
        return None
    path = Path(model_dir).expanduser() / SPLIT_FILE
    return Split.model_validate_json(path.read_text()) if path.is_file() else None


def check_disjoint(model_dir: str | Path | None, dataset: str, users: Iterable[str], *,
                   validation: bool = True) -> None:
    """Raise if any evaluated user is one the model was tuned on, or (``validation``) validated on:
    a choice made on validation users may see those, never the training ones."""
    split = read_split(model_dir)
    if split is None or split.dataset != dataset:
        return
    seen = set(split.train) | (set(split.validation) if validation else set())
    overlap = sorted(set(users) & seen)
    if overlap:
        raise ScenebridgeError(
            f"{len(overlap)} evaluated users were used to tune {model_dir} (e.g. {', '.join(overlap[:3])}): "
            "its scores on them would be memory, not ranking", param="model",
            hint="evaluate other users (test split), or tune on users outside the evaluation")
