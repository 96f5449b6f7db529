"""One evaluation run, fully described: it round-trips to JSON (``config.json`` in the run
directory) and can be written as TOML (``scenebridge eval --config run.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from agent.cases import FULL_PROTOCOLS
from agent.rankers import RANKERS
from agent.rankers.base import OrderDesign


class RunConfig(BaseModel):
    protocol: Literal["warm", "cold", "retrieved", "full", "full-cold"] = "warm"
    dataset: str = "ml-1m"
    source: str = "Comedy"
    target: str = "Sci-Fi"
    users: int = Field(default=200, ge=1, description="Users evaluated, drawn from ``split``.")
    split: Literal["test", "validation"] = Field(default="test", description="Whose figures: test users "
                                                 "(reported), or validation users (choices: prompts, orders).")
    seed: int = 0
    ranker: str = "popularity"
    transfer: bool = Field(default=True, description="False: no source-scene evidence (the ablation).")
    prompt: str | None = Field(default=None, description="Prompt template of an LLM ranker.")
    permutations: int = Field(default=1, ge=1, le=10)
    prior_weight: float = Field(default=0.0, ge=0.0, description="rerank: the backbone's order blended into "
                                "the model's log-probabilities (evals/rerank_blend.py fits it).")
    orders: OrderDesign = Field(default="balanced", description="How extra candidate orders are made: "
                                "balanced rotations or seeded shuffles.")
    negatives: Literal["uniform", "popular"] = "uniform"
    n_negatives: int = Field(default=19, ge=1)
    retrieved: int = Field(default=20, ge=2, description="Candidates of the retrieved protocol.")
    model: str | None = Field(default=None, description="Model to rank with: packaged name or tuned directory "
                              "(default: the configured one).")
    fusion: Path | None = Field(default=None, description="Fusion weights JSON for the hybrid and the prior "
                                "(default: the store's fit for the model).")
    llm_url: str | None = None
    store: Path | None = None
    concurrency: int = Field(default=4, ge=1, le=64, description="Users in flight at once.")
    k: int = Field(default=10, ge=1, description="List length for beyond-accuracy measures.")
    explain_users: int = Field(default=0, ge=0, description="Users whose top-3 get explained and judged.")
    judge_url: str | None = Field(default=None, description="Judge for ragas; default: the model server.")
    judge_model: str | None = None

    @field_validator("ranker")
    @classmethod
    def _known_ranker(cls, value: str) -> str:
        if value not in RANKERS:
            raise ValueError(f"unknown ranker {value!r}; choose one of {', '.join(RANKERS)}")
        return value

    @model_validator(mode="after")
    def _full_needs_scores(self) -> RunConfig:
        if self.protocol in FULL_PROTOCOLS and self.ranker in ("verbalizer", "listwise"):
            raise ValueError(f"the {self.protocol} protocol ranks every unseen target item (hundreds): the "
                             f"{self.ranker} ranker reads a short list; use --protocol retrieved, or a score "
                             "ranker (backbone, ease, ials, hybrid, ...)")
        return self

    @model_validator(mode="after")
    def _ablation_applies(self) -> RunConfig:
        if not self.transfer and self.ranker in ("cross_cooc", "embedding"):
            raise ValueError(f"the {self.ranker} ranker reads only the source scene: it has no "
                             "no-transfer variant (drop --no-transfer)")
        return self

    @classmethod
    def from_toml(cls, path: Path) -> RunConfig:
        return cls.model_validate(tomllib.loads(path.read_text()))

    def identity(self) -> dict:
        """What must match for a run directory to be resumed (not how fast it runs)."""
        exclude = {"concurrency", "llm_url", "store", "explain_users", "judge_url", "judge_model"}
        if self.split == "test":
            exclude.add("split")  # runs from before the field resume
        if self.prior_weight == 0:
            exclude.add("prior_weight")
        if self.fusion is None:
            exclude.add("fusion")  # runs from before the field resume
        if self.permutations == 1:
            exclude.add("orders")  # one order is the given order, whatever the design
        return self.model_dump(mode="json", exclude=exclude)

    @classmethod
    def from_run_dir(cls, data: dict) -> RunConfig:
        """A ``config.json`` as written; runs from before ``orders`` existed used shuffles."""
        return cls.model_validate({"orders": "shuffled", **data})
