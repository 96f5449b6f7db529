"""What validation chose for a scene pair: each backbone model's hyper-parameters (for warm and
for cold users), which model is ``backbone``, and which ranker is the default.

Written by the validation fit (``scenebridge fit-backbone``; agent/selection) as ``choice.json``
beside the fits it describes, so it is keyed by the same fingerprint; read by the generators,
which use the chosen hyper-parameters unless a config names its own.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.candidates._fits import fit_dir, log
from agent.candidates.joint import JointMatrix
from agent.candidates.scene_data import SceneData

Warmth = Literal["warm", "cold"]
BACKBONE_MODELS = ("ease", "ials")


class SweepRow(BaseModel):
    """One configuration's validation figures for one kind of user."""

    model: str
    config: dict[str, Any]
    warmth: Warmth
    metrics: dict[str, float] = Field(description="NDCG@10 per candidate protocol (uniform, popular, "
                                      "full) and recall@20 (full), mean over validation users.")
    criterion: float = Field(description="What the choice maximises: mean NDCG@10 over the protocols.")
    fit_seconds: float = 0.0


class RankerScore(BaseModel):
    """A ranker's validation figure for warm and cold users (None: not measured), and on what."""

    warm: float | None = None
    cold: float | None = None
    measure: str = "criterion"

    @property
    def mean(self) -> float:
        values = [v for v in (self.warm, self.cold) if v is not None]
        return sum(values) / len(values) if values else float("-inf")


class BackboneChoice(BaseModel):
    fingerprint: str
    dataset: str
    source: str
    target: str
    configs: dict[str, dict[Warmth, dict[str, Any]]] = Field(
        description="Model -> warm/cold -> its chosen config fields.")
    backbone: dict[Warmth, str] = Field(description="The model ``backbone`` delegates to, per kind of user.")
    sweep: list[SweepRow] = Field(default_factory=list)
    validation_users: dict[Warmth, int] = Field(default_factory=dict)
    rankers: dict[str, RankerScore] = Field(
        default_factory=dict, description="Validation criterion of each ranker compared for the default.")
    default_ranker: str = "backbone"
    decided_by: str = ""
    fitted_at: str = ""

    def config(self, model: str, warmth: Warmth) -> dict[str, Any]:
        return dict(self.configs.get(model, {}).get(warmth, {}))

    def summary(self) -> str:
        """One line: the default ranker, and each ranker's figure grouped by what it was measured on."""
        groups: dict[str, list[str]] = {}
        for name, score in self.rankers.items():
            groups.setdefault(score.measure, []).append(f"{name} {score.mean:.4f}")
        measured = "; ".join(f"{', '.join(names)} ({measure})" for measure, names in groups.items())
        return f"default ranker {self.default_ranker}: {self.decided_by}. Validation: {measured}"


def chosen_config(data: SceneData, joint: JointMatrix, model: str, cold: bool) -> dict[str, Any]:
    """What validation chose for ``model`` and this kind of user ({} before any choice)."""
    choice = read_choice(data, joint)
    return choice.config(model, "cold" if cold else "warm") if choice else {}


def recorded_choices(store_path, dataset: str) -> list[BackboneChoice]:
    """Every choice recorded for a dataset of a store (newest first), without loading its data."""
    from pathlib import Path

    paths = sorted((Path(store_path) / "backbone" / dataset).glob("*/choice.json"),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    return [BackboneChoice.model_validate(json.loads(p.read_text())) for p in paths]


def _path(data: SceneData, joint: JointMatrix):
    folder = fit_dir(data, joint)
    return folder / "choice.json" if folder else None


def read_choice(data: SceneData, joint: JointMatrix) -> BackboneChoice | None:
    """The pair's recorded choice (the in-memory one for a data set outside a store)."""
    memory = data.memo(("choice", joint.fingerprint), dict)
    path = _path(data, joint)
    if path is None or not path.is_file():
        return memory.get("choice")
    stamp = path.stat().st_mtime_ns
    if memory.get("stamp") != stamp:  # another process (fit-backbone) may have rewritten it
        memory.update(stamp=stamp, choice=BackboneChoice.model_validate(json.loads(path.read_text())))
    return memory["choice"]


def save_choice(data: SceneData, joint: JointMatrix, choice: BackboneChoice) -> None:
    memory = data.memo(("choice", joint.fingerprint), dict)
    memory.update(stamp=None, choice=choice)
    path = _path(data, joint)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(choice.model_dump_json(indent=2))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only store: the choice holds for this process only
        log.warning("could not record the backbone choice in %s (%s)", path, exc)
