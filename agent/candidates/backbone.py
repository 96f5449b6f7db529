"""``backbone``: whichever collaborative model validation chose for this scene pair and kind of
user (``ease`` or ``ials``, with their chosen hyper-parameters; agent/selection writes the
choice). Before any choice it is ``ease`` with its default lambdas."""

from __future__ import annotations

import numpy as np

from agent.candidates.attribution import Attributing
from agent.candidates.base import CandidateGenerator, GeneratorConfig
from agent.candidates.choice import read_choice
from agent.candidates.ease import Ease
from agent.candidates.evidence import Query
from agent.candidates.ials import Ials
from agent.candidates.joint import joint_matrix
from agent.candidates.registry import register_generator
from agent.candidates.scene_data import SceneData

MODELS = {"ease": Ease, "ials": Ials}


def chosen_model(data: SceneData, query: Query) -> str:
    choice = read_choice(data, joint_matrix(data, query.source.scene, query.target.scene))
    return choice.backbone["cold" if query.evidence.cold else "warm"] if choice else "ease"


@register_generator
class Backbone(Attributing, CandidateGenerator):
    name = "backbone"
    Config = GeneratorConfig

    def model(self, data: SceneData, query: Query) -> Ease | Ials:
        return MODELS[chosen_model(data, query)]()

    def score(self, data: SceneData, query: Query) -> np.ndarray:
        return self.model(data, query).score(data, query)

    def contributions(self, data: SceneData, query: Query, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
        return self.model(data, query).contributions(data, query, item_ids)

    def attribute(self, data, query, item_ids, *, top: int = 3):
        return self.model(data, query).attribute(data, query, item_ids, top=top)
