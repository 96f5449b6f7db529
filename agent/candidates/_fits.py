"""Fitted backbone arrays, kept once per loaded data and persisted in the store.

A fit lives under ``<store>/backbone/<dataset>/<fingerprint>/<name>.npz``: keyed by the joint
matrix's fingerprint (scene pair and every cell), so a re-ingested store is fitted again instead
of read stale. Written to a temporary file and renamed, so an interrupted fit leaves nothing a
later run would trust. A ``SceneData`` built outside a store (tests) keeps its fits in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agent.candidates.joint import JointMatrix
from agent.candidates.scene_data import SceneData

log = logging.getLogger("scenebridge.backbone")


def fit_dir(data: SceneData, joint: JointMatrix) -> Path | None:
    if not str(data.store_path) or str(data.store_path) == ".":
        return None
    return data.store_path / "backbone" / data.dataset / joint.fingerprint


def cached_fit(data: SceneData, joint: JointMatrix, name: str,
               fit: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of fit ``name``: from memory, else from the store, else ``fit()`` (then saved)."""

    def load_or_fit() -> dict[str, np.ndarray]:
        folder = fit_dir(data, joint)
        path = folder / f"{name}.npz" if folder else None
        if path is not None and path.is_file():
            with np.load(path) as stored:
                return {key: stored[key] for key in stored.files}
        arrays = fit()
        if path is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
                np.savez(tmp, **arrays)
                os.replace(tmp, path)
            except OSError as exc:  # a read-only store still serves, fitting again in each process
                log.warning("could not keep the %s fit in %s (%s): it lives in memory only", name, folder, exc)
        return arrays

    return data.memo(("fit", joint.fingerprint, name), load_or_fit)
