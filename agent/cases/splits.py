"""Which users may be used for what: a fixed, hash-based split of user ids.

Fusion weights (and later tuning) are fitted on ``validation`` and ``train`` users; evaluation
reports ``test`` users only. The split depends on the id alone, so it is the same in every run,
for every dataset, without a file to keep.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")


def split_of(user_id: str) -> Split:
    """20% train, 10% validation, 70% test."""
    bucket = int(hashlib.sha256(f"scenebridge:{user_id}".encode()).hexdigest()[:8], 16) % 10
    return "train" if bucket < 2 else "validation" if bucket < 3 else "test"


def users_in(users, split: Split) -> list[str]:
    return [u for u in users if split_of(u) == split]
