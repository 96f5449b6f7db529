"""Fixtures of the candidate-generator tests: the ML-100k Comedy -> Sci-Fi histories as a
SceneData made without the store (``scene_data``: the generators read histories, and vectors
that stand in for MiniLM's serve the embedding generator's arithmetic as well)."""

from __future__ import annotations

import pytest

from agent.candidates import UserEvidence, user_evidence

SOURCE, TARGET = "Comedy", "Sci-Fi"


@pytest.fixture(scope="session")
def both_user(scene_data) -> str:
    """A user with several items in both scenes (deterministic: the first such id)."""
    counts = {s: scene_data.scene(s).matrix.getnnz(axis=1) for s in (SOURCE, TARGET)}
    rows = [r for r in range(len(scene_data.users)) if counts[SOURCE][r] >= 10 and counts[TARGET][r] >= 5]
    return str(scene_data.users[min(rows)])


@pytest.fixture
def evidence(scene_data, both_user) -> UserEvidence:
    return user_evidence(scene_data, both_user, source=SOURCE, target=TARGET)
