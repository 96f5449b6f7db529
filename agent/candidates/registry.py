"""Generators by name. The built-in ones register themselves here exactly as an extension would:

    @register_generator
    class Mine(CandidateGenerator):
        name = "mine"
        def score(self, data, query): ...
"""

from __future__ import annotations

import difflib
from typing import Any

from agent.candidates.base import CandidateGenerator
from core.errors import NotFoundError, ScenebridgeError

_GENERATORS: dict[str, type[CandidateGenerator]] = {}


def register_generator(cls: type[CandidateGenerator]) -> type[CandidateGenerator]:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ScenebridgeError(f"{cls.__name__} has no name", hint="set the class attribute `name`")
    existing = _GENERATORS.get(name)
    if existing is not None and existing is not cls:
        raise ScenebridgeError(f"a candidate generator named {name!r} is already registered "
                               f"({existing.__module__}.{existing.__qualname__})", hint="choose another name")
    _GENERATORS[name] = cls
    return cls


def generator_names() -> list[str]:
    return list(_GENERATORS)


def make_generator(spec: str | CandidateGenerator | dict[str, Any]) -> CandidateGenerator:
    """A generator from a name, a ``{"name", "config"}`` dict (``spec()``), or an instance."""
    if isinstance(spec, CandidateGenerator):
        return spec
    name, config = (spec, None) if isinstance(spec, str) else (spec.get("name", ""), spec.get("config"))
    try:
        cls = _GENERATORS[name]
    except KeyError:
        raise NotFoundError(
            "candidate generator", name,
            suggestions=difflib.get_close_matches(name, list(_GENERATORS), n=3),
            hint=None if difflib.get_close_matches(name, list(_GENERATORS), n=1)
            else f"registered generators: {', '.join(_GENERATORS)}",
        ) from None
    return cls(config)
