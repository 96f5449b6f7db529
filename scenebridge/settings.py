"""One settings object for every entry point (CLI, evaluation, serve.py).

Each field can be set by an environment variable ``SCENEBRIDGE_<FIELD>``; CLI flags override it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scenebridge"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_", extra="ignore")

    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Root for everything scenebridge writes (stores, prepared models).",
    )
    store_dir: Path | None = Field(
        default=None,
        description="Chroma store directory; defaults to <cache_dir>/store.",
    )
    embedding_batch_size: int = Field(
        default=64, ge=1, description="Texts embedded per forward pass of MiniLM."
    )
    min_scene_ratings: int = Field(
        default=5,
        ge=1,
        description="Ratings a user needs in a scene to count as active there (scene overlaps).",
    )

    @property
    def store_path(self) -> Path:
        return self.store_dir or self.cache_dir / "store"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def offline_environment() -> None:
    """Nothing is downloaded at run time: models and data come from installed packages."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(key, value)
