"""The evidence behind each recommended item: facts a sentence can state and a check can verify.

For each item of an answer: the backbone's attributions (the person's items that made its score,
largest share first), each with the person's rating of it and two counts from the interaction
data (``SceneData``), and the item's own counts.

"Loved" means rated 4 or 5: ``rating >= LOVED`` on MovieLens' 1-5 stars. An interaction without a
rating (imported implicit data) never counts, because the sentence says "rated". The person's own
row is never counted ("other people"), so an evaluation's held-out item cannot reach its own
evidence. The counts of a whole answer come from two sparse products, in the caller's thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, Field

from agent.candidates import Attribution, SceneData, SceneMatrix, UserEvidence
from core.domain import Item

LOVED = 4.0


class Contributor(BaseModel):
    """One of the person's items that made the backbone's score of the recommended item."""

    item: Item
    share: float = Field(description="Its part of what pointed to the item (of the positive parts).")
    rating: float | None = Field(description="The person's rating of it; None when they only named it.")
    lovers: int = Field(description="Other people who rated it 4 or 5.")
    lovers_with: int = Field(description="Of them, those who also rated the recommended item 4 or 5.")


class ItemEvidence(BaseModel):
    item: Item
    contributors: list[Contributor] = Field(description="The backbone's attributions, largest first.")
    raters: int = Field(description="Other people who rated the item.")
    lovers: int = Field(description="Of them, those who rated it 4 or 5.")
    loved: float = LOVED
    top_rating: float | None = Field(default=None, description="The scale's top (5 on MovieLens).")
    place: int = Field(default=0, description="The item's place in its answer (0 first): which fact leads.")
    lead: int = Field(default=0, description="Which contributor leads its sentence (varies in an answer).")

    @property
    def cited(self) -> list[str]:
        return [c.item.item_id for c in self.contributors]

    def numbers(self) -> set[float]:
        """Every number the evidence holds: what a sentence about it may state."""
        found = {float(self.raters), float(self.lovers), self.loved}
        if self.top_rating is not None:
            found.add(self.top_rating)
        for c in self.contributors:
            found |= {float(c.lovers), float(c.lovers_with), float(round(100 * c.share))}
            if c.rating is not None:
                found.add(c.rating)
        return found


def _masked(data: SceneData, scene: SceneMatrix, keep: str) -> sp.csc_matrix:
    """The scene's interactions that are ``keep`` ("rated", "loved"), binary, by column."""
    def build() -> sp.csc_matrix:
        rated = ~np.isnan(scene.ratings)
        matrix = scene.matrix.copy()
        matrix.data = (rated & (scene.ratings >= LOVED) if keep == "loved" else rated).astype(np.float32)
        matrix.eliminate_zeros()
        return matrix.tocsc()

    return data.memo(("explain", keep, scene.scene), build)


def _counts(data: SceneData, scene: SceneMatrix, columns: list[int], target: sp.csc_matrix,
            row: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(people who loved each column, columns x target items who loved both), the person's row out."""
    loved = _masked(data, scene, "loved")[:, columns]
    lovers = np.asarray(loved.sum(axis=0)).ravel()
    both = (loved.T @ target).toarray()
    if row is not None:
        mine, theirs = loved[row].toarray().ravel(), target[row].toarray().ravel()
        lovers, both = lovers - mine, both - np.outer(mine, theirs)
    return lovers.astype(int), both.astype(int)


def answer_evidence(data: SceneData, evidence: UserEvidence, top: list[str], attributions: Mapping[str, Attribution],
                    items: Mapping[str, Item], ratings: Mapping[str, float | None]) -> dict[str, ItemEvidence]:
    """The evidence of every item of one answer (``top``, best first). ``items`` holds the top
    items and their contributors; ``ratings`` the person's ratings (empty for named likes)."""
    row = data.user_row(evidence.user_id) if evidence.user_id is not None else None
    target = data.scene(evidence.target_scene)
    columns = [data.column(target, i) for i in top]
    loved_top = _masked(data, target, "loved")[:, columns]
    rated_top = _masked(data, target, "rated")[:, columns]
    raters, lovers = (np.asarray(m.sum(axis=0)).ravel() for m in (rated_top, loved_top))
    if row is not None:
        raters = raters - rated_top[row].toarray().ravel()
        lovers = lovers - loved_top[row].toarray().ravel()

    # Each contributor's counts, against every top item at once (a contributor is a source item or
    # an item of the person's target history).
    counts: dict[str, tuple[int, np.ndarray]] = {}
    cited = list(dict.fromkeys(c.item_id for i in top for c in attributions[i].contributions))
    for scene in (data.scene(evidence.source_scene), target):
        mine = [c for c in cited if c in scene.item_index]
        if mine:
            loved, both = _counts(data, scene, [scene.item_index[c] for c in mine], loved_top, row)
            counts |= {c: (int(loved[n]), both[n]) for n, c in enumerate(mine)}

    scales = [np.nanmax(s.ratings) for s in (data.scene(evidence.source_scene), target)
              if len(s.ratings) and not np.isnan(s.ratings).all()]
    top_rating = float(max(scales)) if scales else None
    led: Counter[str] = Counter()
    out = {}
    for n, item_id in enumerate(top):
        contributors = [Contributor(item=items[c.item_id], share=round(c.share, 4), rating=ratings.get(c.item_id),
                                    lovers=counts[c.item_id][0], lovers_with=int(counts[c.item_id][1][n]))
                        for c in attributions[item_id].contributions]
        # The contributor led with least so far in this answer; among equals one the person loved
        # (a film they rated 1 is a true part of the score, but a poor first reason), then the largest share.
        lead = min(range(len(contributors)), default=0, key=lambda i: (
            led[contributors[i].item.item_id], (contributors[i].rating or LOVED) < LOVED, i))
        if contributors:
            led[contributors[lead].item.item_id] += 1
        out[item_id] = ItemEvidence(item=items[item_id], contributors=contributors, raters=int(raters[n]),
                                    lovers=int(lovers[n]), top_rating=top_rating, place=n, lead=lead)
    return out
