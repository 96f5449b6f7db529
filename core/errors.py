"""The few domain errors. Each says what went wrong and how to fix it; the CLI and the
HTTP layer translate them once, at their boundary."""

from __future__ import annotations

from collections.abc import Sequence


class ScenebridgeError(Exception):
    """Base class: ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.param = param

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class DataError(ScenebridgeError):
    """Input data that cannot be used: a bad row, a missing package, an empty scene."""


class RowError(DataError):
    """One bad row of an imported file, located by file, line and field."""

    def __init__(self, file: str, line: int, field: str, problem: str, fix: str):
        super().__init__(f"{file}, line {line}, field '{field}': {problem}", hint=fix, param=field)
        self.file, self.line, self.field = file, line, field


class NotFoundError(ScenebridgeError):
    """An unknown user, item, scene or dataset."""

    def __init__(self, kind: str, key: str, *, suggestions: Sequence[str] = (), hint: str | None = None):
        if suggestions and hint is None:
            hint = "did you mean: " + "; ".join(suggestions) + "?"
        super().__init__(f"unknown {kind}: {key!r}", hint=hint, param=kind)
        self.kind, self.key, self.suggestions = kind, key, list(suggestions)


class StoreError(ScenebridgeError):
    """The store is missing, incomplete, or was built for something else."""


class ParamError(ValueError):
    """A validator's complaint about one field of a request: front-ends name ``param`` (the HTTP
    error body's ``param``) instead of the whole request."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param
