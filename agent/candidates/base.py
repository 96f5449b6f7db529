"""The candidate-generator contract: a name, a typed config, and ``score``.

A generator scores every item of the target scene for one query, as a dense float vector in the
target scene's column order; higher is better and 0 means "no evidence" (a generator never
proposes an item it scores <= 0). The config is a pydantic model, so an evaluation run can record
exactly what it ran (``spec()``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from agent.candidates.evidence import Query
from agent.candidates.scene_data import SceneData


class GeneratorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CandidateGenerator(ABC):
    name: ClassVar[str]
    Config: ClassVar[type[GeneratorConfig]] = GeneratorConfig

    def __init__(self, config: GeneratorConfig | dict[str, Any] | None = None, **overrides: Any):
        fields = config.model_dump() if isinstance(config, BaseModel) else dict(config or {})
        self.config = self.Config.model_validate({**fields, **overrides})

    @abstractmethod
    def score(self, data: SceneData, query: Query) -> np.ndarray:
        """One score per target-scene item (``query.target.items`` order)."""

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config.model_dump(mode="json")}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
