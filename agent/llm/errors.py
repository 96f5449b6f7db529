"""What can go wrong with a model server. Rankers catch ``LLMError`` and fall back."""

from core.errors import ScenebridgeError


class LLMError(ScenebridgeError):
    """Base: the model could not give a usable answer."""


class LLMUnavailable(LLMError):
    """The server is down or refused the connection."""


class LLMTimeout(LLMError):
    """The server did not answer in time."""


class LLMBadOutput(LLMError):
    """The server answered, but not with what was asked (garbage, wrong labels, bad JSON)."""
