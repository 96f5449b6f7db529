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
        default="evidence", description="'evidence': a sentence built from the evidence, no model call "
        "(all true by the checks, ms each); 'llm': the model words each explanation, used where it passes "
        "the checks (seconds each on a CPU; docs/results.md, 'Explanation quality').")
    chat_llm_url: str | None = Field(default=None, description="OpenAI-compatible instruct model (…/v1) that "
                                     "reads chat requests beside the rules, filling only what they left empty "
                                     "and the request's words support; unset: the rules alone (the measured "
                                     "default: docs/results.md, 'Reading chat requests').")
    chat_llm_model: str | None = Field(default=None, description="Its served name; unset: the server's first.")
    chat_llm_timeout_s: float = Field(default=10.0, gt=0, description="Longest the instruct model may take to "
                                      "read one request; past it the rules' reading stands alone.")
    default_k: int = Field(default=5, ge=1, le=50, description="Recommendations per chat answer.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body accepted.")
    max_concurrent: int = Field(default=2, ge=1, description="Recommendations computed at once; "
                                "more wait in a queue.")
    max_queue: int = Field(default=64, ge=0, description="Requests that may wait; more are refused (503).")
    queue_timeout_s: float = Field(default=60.0, gt=0, description="Longest wait in the queue before 503.")
    health_timeout_s: float = Field(default=2.0, gt=0, description="How long a probe of the model server "
                                    "may take (/health shows the last probe, it never waits for one).")
    # Bounded work (docs/serving.md, "Bounded work and failing model servers").
    request_timeout_s: float = Field(default=30.0, gt=0, description="Longest a request may take, queue "
                                     "included; the model's part ends earlier and the answer falls back.")
    max_titles: int = Field(default=50, ge=1, description="Titles one conversation may name (400 beyond).")
    max_exclusions: int = Field(default=30, ge=1, description="'not X' phrases one conversation may hold.")
    body_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for a request body (408).")
    llm_timeout_s: float = Field(default=10.0, gt=0, description="Longest wait for one model call.")
    llm_retries: int = Field(default=1, ge=0, description="Retries of a model call that failed to connect "
                             "or timed out.")
    probe_interval_s: float = Field(default=2.0, gt=0, description="Seconds between probes of the model server.")
    keep_alive_s: float = Field(default=5.0, gt=0, description="Idle keep-alive connections are closed after.")

    @field_validator("api_key", mode="after")
    @classmethod
    def _empty_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return usable_key(value)
