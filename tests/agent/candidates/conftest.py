"""Fixtures of the candidate-generator tests: the ML-100k Comedy -> Sci-Fi store, loaded."""

from __future__ import annotations

import pytest

from agent.candidates import UserEvidence, user_evidence

SOURCE, TARGET = "Comedy", "Sci-Fi"


@pytest.fixture(scope="session")
def both_user(data) -> str:
    """A user with several items in both scenes (deterministic: the first such id)."""
    counts = {s: data.scene(s).matrix.getnnz(axis=1) for s in (SOURCE, TARGET)}
    rows = [r for r in range(len(data.users)) if counts[SOURCE][r] >= 10 and counts[TARGET][r] >= 5]
    return str(data.users[min(rows)])


@pytest.fixture
def evidence(data, both_user) -> UserEvidence:
    return user_evidence(data, both_user, source=SOURCE, target=TARGET)
