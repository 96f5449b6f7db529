"""Retrieval sanity: do an item's neighbours in the store share its genre more than chance?

For seed items of one genre, the share of that genre among each seed's top-k neighbours in the
full catalogue (``Retriever.similar``, through Chroma), against the genre's base rate in the
catalogue. An embedding that captures item knowledge puts the share well above the base rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from retrievers import Retriever


@dataclass(frozen=True)
class SanityFigure:
    genre: str
    seeds: int
    k: int
    share: float  # mean share of neighbours with the genre
    base_rate: float  # share of the catalogue with the genre

    @property
    def lift(self) -> float:
        return self.share / self.base_rate if self.base_rate else float("inf")

    def as_dict(self) -> dict:
        return {**asdict(self), "lift": self.lift}


def genre_neighbour_share(retriever: Retriever, genre: str, *, k: int = 10, seeds: int = 100,
                          seed: int = 0) -> SanityFigure:
    catalogue = retriever.catalogue()
    with_genre = [item.item_id for item in catalogue if genre in item.genres]
    if not with_genre:
        raise ValueError(f"no item has the genre {genre!r}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(with_genre, size=min(seeds, len(with_genre)), replace=False)
    shares = [
        np.mean([genre in n.item.genres for n in retriever.similar(str(item_id), k=k)])
        for item_id in chosen
    ]
    return SanityFigure(genre, len(chosen), k, float(np.mean(shares)), len(with_genre) / len(catalogue))
