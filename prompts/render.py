"""Render templates in a sandbox: item titles and user text are data, never template code.

Values are inserted as they are (Jinja never re-evaluates a value, so a title ``{{ 7*7 }}``
prints verbatim); the ``clean`` filter folds newlines and control characters so a title cannot
forge another line of the prompt (a fake candidate label, a fake "Answer:").
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from core.errors import ScenebridgeError

TEMPLATE_DIR = Path(__file__).parent / "templates"
MAX_FIELD_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_INCLUDE = re.compile(r"""{%-?\s*(?:include|extends)\s+["']([^"']+)["']""")


class PromptError(ScenebridgeError):
    """A template that is missing or fails to render."""


class RenderedPrompt(BaseModel):
    template: str
    sha256: str  # of the template's source: which text produced this prompt
    text: str


def clean(value: object, limit: int = MAX_FIELD_CHARS) -> str:
    """One line of inert text: control characters and newlines become spaces, long text is cut."""
    text = _CONTROL.sub(" ", str(value)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["clean"] = clean
    return env


def template_names() -> list[str]:
    """Templates a caller may name (files starting with '_' are partials they include)."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.jinja") if not p.name.startswith("_"))


def _source_with_includes(filename: str, seen: set[str] | None = None) -> str:
    seen = seen if seen is not None else set()
    seen.add(filename)
    source = (TEMPLATE_DIR / filename).read_text(encoding="utf-8")
    parts = [source]
    for included in _INCLUDE.findall(source):
        if included not in seen:
            parts.append(_source_with_includes(included, seen))
    return "\n".join(parts)


@lru_cache(maxsize=64)
def _load(name: str):
    filename = f"{name}.jinja"
    try:
        template = _environment().get_template(filename)
    except TemplateNotFound:
        raise PromptError(f"no prompt template {name!r}", hint=f"available: {', '.join(template_names())}",
                          param="prompt") from None
    except TemplateError as exc:
        raise PromptError(f"template {name!r} does not parse: {exc}", hint=f"fix prompts/templates/{filename}",
                          param="prompt") from None
    # The hash covers the partials it includes: it names the exact text that made a prompt.
    return template, hashlib.sha256(_source_with_includes(filename).encode()).hexdigest()


def template_sha256(name: str) -> str:
    return _load(name)[1]


def render(name: str, /, **context) -> RenderedPrompt:
    """Render ``prompts/templates/<name>.jinja``; a failure names the template and the cause."""
    template, sha = _load(name)
    try:
        text = template.render(**context)
    except TemplateError as exc:  # StrictUndefined, sandbox violations, bad filters
        raise PromptError(f"template {name!r} failed to render: {exc}",
                          hint="check the template's variables against what the ranker passes",
                          param="prompt") from None
    return RenderedPrompt(template=name, sha256=sha, text=text)
