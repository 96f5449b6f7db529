"""LLM backends: one small contract, chosen by name from a registry."""

from agent.llm.backend import Completion, LLMBackend, create_backend, register_backend
from agent.llm.errors import LLMBadOutput, LLMError, LLMTimeout, LLMUnavailable
from agent.llm.openai_backend import OpenAIBackend, OpenAIBackendConfig

__all__ = [
    "Completion",
    "LLMBackend",
    "LLMBadOutput",
    "LLMError",
    "LLMTimeout",
    "LLMUnavailable",
    "OpenAIBackend",
    "OpenAIBackendConfig",
    "create_backend",
    "register_backend",
]
