"""One settings object for every entry point (CLI, evaluation, serve.py).

Each field can be set by an environment variable ``SCENEBRIDGE_<FIELD>``; CLI flags override it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scenebridge"


def _default_vllm_python() -> Path:
    """The vLLM environment scripts/setup.sh creates beside the app's (repo root/.venv-vllm)."""
    return Path(__file__).resolve().parent.parent / ".venv-vllm" / "bin" / "python"


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
    chroma_url: str | None = Field(
        default=None,
        description="A Chroma server (http://HOST:PORT, started by `chroma run --path DIR`) holding the "
        "store's collections, shared by several serving processes. The store directory then keeps only "
        "what is fitted from them (backbones, fusion weights). Unset: Chroma embedded in the directory.",
    )
    embedding_batch_size: int = Field(
        default=64, ge=1, description="Texts embedded per forward pass of MiniLM."
    )
    min_scene_ratings: int = Field(
        default=5,
        ge=1,
        description="Ratings a user needs in a scene to count as active there (scene overlaps).",
    )
    title_match: float = Field(
        default=85.0, ge=0, le=100,
        description="Title similarity (0-100, core.titles.title_similarity) at which a typed title is "
        "taken for an item; below it the closest titles are offered as suggestions.",
    )
    compute_dtype: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto",
        description="Float type of the model server and the trainer. auto: bfloat16 where the CPU has "
        "bf16 kernels (AVX-512), float32 where it has only AVX2 (bf16 is ~8x slower there).",
    )
    llm_url: str | None = Field(
        default=None,
        description="OpenAI-compatible model server to use (ending in /v1). Unset: the local vLLM "
        "server at llm_host:llm_port, started on demand.",
    )
    llm_host: str = Field(default="127.0.0.1", description="Host the local vLLM server listens on.")
    llm_port: int = Field(default=8011, ge=1, le=65535, description="Port of the local vLLM server.")
    chat_llm_port: int = Field(default=8012, ge=1, le=65535,
                               description="Port of the local instruct model ('scenebridge llm serve --chat').")
    chat_llm_model: str = Field(default="qwen2.5-coder-0.5b-instruct",
                                description="Packaged instruct model 'scenebridge llm serve --chat' serves.")
    llm_model: str = Field(
        default="gemma-3-270m",
        description="Model the local server serves: a packaged model's name (scenebridge model "
        "prepare) or the directory of a prepared Hugging Face model.",
    )
    vllm_python: Path = Field(
        default_factory=_default_vllm_python,
        description="Python of the vLLM environment (made by scripts/setup.sh).",
    )
    kv_cache_gib: float = Field(
        default=2.0, gt=0, description="KV cache of the local vLLM server, GiB (VLLM_CPU_KVCACHE_SPACE)."
    )
    llm_max_model_len: int = Field(
        default=2048, ge=256, description="Context length of the local vLLM server, tokens."
    )
    llm_start_timeout: float = Field(
        default=600.0, gt=0, description="Seconds to wait for a local vLLM server to answer after start."
    )
    llm_timeout: float = Field(
        default=120.0, gt=0, description="Seconds one request to the model server may take."
    )

    @property
    def store_path(self) -> Path:
        return self.store_dir or self.cache_dir / "store"

    @property
    def models_dir(self) -> Path:
        """Prepared models: <cache_dir>/models/<name>/."""
        return self.cache_dir / "models"

    @property
    def logs_dir(self) -> Path:
        """Model-server logs and pid files."""
        return self.cache_dir / "logs"

    @property
    def local_llm_url(self) -> str:
        return f"http://{self.llm_host}:{self.llm_port}/v1"

    @property
    def local_chat_llm_url(self) -> str:
        return f"http://{self.llm_host}:{self.chat_llm_port}/v1"


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
