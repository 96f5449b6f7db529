"""How the HTTP server runs. Every field is also ``SCENEBRIDGE_<FIELD>`` in the environment
(``SCENEBRIDGE_API_KEY``); ``scenebridge serve`` flags override them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def usable_key(key: SecretStr | None) -> SecretStr | None:
    """The key without surrounding spaces; None when unset or empty (``SCENEBRIDGE_API_KEY=``): an
    empty key is no key, everywhere (the start banner, the middleware)."""
    if key is None or not key.get_secret_value().strip():
        return None
    return SecretStr(key.get_secret_value().strip())


class ServerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCENEBRIDGE_", extra="ignore")

    store_dir: Path | None = Field(default=None, description="Chroma store; default: the settings' store.")
    dataset: str | None = Field(default=None, description="Dataset of the store (when it holds several).")
    llm_url: str | None = Field(default=None, description="OpenAI-compatible model server (…/v1); unset: "
                                "the local vLLM server, started if none answers.")
    use_llm: bool = Field(default=True, description="False: rank by candidate scores, explain from evidence.")
    api_key: SecretStr | None = Field(default=None, description="When set (and not empty), clients must send "
                                      "'Authorization: Bearer <key>'.")
    explanations: Literal["llm", "evidence"] = Field(
        default="llm", description="'llm': the model words each explanation (seconds each on a CPU); "
        "'evidence': a sentence built from the evidence, no model call.")
    default_k: int = Field(default=5, ge=1, le=50, description="Recommendations per chat answer.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body accepted.")
    max_concurrent: int = Field(default=2, ge=1, description="Recommendations computed at once; "
                                "more wait in a queue.")
    max_queue: int = Field(default=64, ge=0, description="Requests that may wait; more are refused (503).")
    queue_timeout_s: float = Field(default=60.0, gt=0, description="Longest wait in the queue before 503.")
    health_timeout_s: float = Field(default=2.0, gt=0, description="How long /health waits for the model server.")

    @field_validator("api_key", mode="after")
    @classmethod
    def _empty_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return usable_key(value)
