"""Fixtures the agent's tests share."""

from __future__ import annotations

import pytest

from core.data.dataset import item_from_row
from core.domain import Item


@pytest.fixture(scope="session")
def catalogue(ml100k, ml100k_split) -> dict[str, Item]:
    """Every ML-100k item by id, with its scene of the Comedy -> Sci-Fi split (None outside both)."""
    scenes = ml100k_split.item_scene
    return {i: item_from_row(i, row).model_copy(update={"scene": scenes.get(i)}) for i, row in ml100k.items.iterrows()}
