"""Why a backbone scored an item: the user's own items that made the score, each with its part.

Both backbones' scores are sums over the user's evidence items (EASE: x_i B_ij exactly; iALS:
``implicit``'s ``explain``, the fold-in's linear pieces), so an item's ``contributions`` add up
to its score (but for an item's part in its own score, which is never named), and the items
named are only ever items of the user's evidence.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from agent.candidates.evidence import Query
from agent.candidates.scene_data import SceneData


class Contribution(BaseModel):
    item_id: str = Field(description="One of the user's evidence items (source or target history).")
    value: float = Field(description="Its additive part of the score.")
    share: float = Field(description="value / the sum of the positive parts: how much of what "
                         "pointed to the item came from this one.")


class Attribution(BaseModel):
    item_id: str
    model: str
    score: float
    contributions: list[Contribution] = Field(description="The largest parts first.")


class Attributing:
    """A generator whose score of an item splits exactly over the user's evidence items."""

    name: str

    def contributions(self, data: SceneData, query: Query, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
        """(evidence items x ``item_ids`` parts, the evidence item ids)."""
        raise NotImplementedError

    def attribute(self, data: SceneData, query: Query, item_ids: list[str], *, top: int = 3) -> dict[str, Attribution]:
        parts, evidence = self.contributions(data, query, item_ids)
        out = {}
        for n, item_id in enumerate(item_ids):
            score = float(parts[:, n].sum())
            # An item the person has rated themself (a candidate given by the caller) is never its
            # own evidence: "you gave it a 1" is no reason to recommend it (iALS gives it a part).
            column = np.where(np.asarray(evidence) == item_id, 0.0, parts[:, n])
            positive = float(column[column > 0].sum())
            best = np.argsort(-column, kind="stable")[:top]
            out[item_id] = Attribution(
                item_id=item_id, model=self.name, score=score,
                contributions=[Contribution(item_id=evidence[i], value=float(column[i]),
                                            share=float(column[i] / positive) if positive > 0 else 0.0)
                               for i in best if column[i] > 0])
        return out
