"""Prompt templates (Jinja, sandboxed) and their rendering.

Templates are files under ``prompts/templates``. What is shared comes first (instructions, the
user's source-scene evidence, target history) and the candidates last, so permutations of the
candidates reuse vLLM's prefix cache.
"""

from prompts.render import PromptError, RenderedPrompt, render, template_names, template_sha256

__all__ = ["PromptError", "RenderedPrompt", "render", "template_names", "template_sha256"]
