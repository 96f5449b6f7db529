"""scenebridge: cross-scene recommendations ranked and explained by a local language model.

The top floor: the command line (``cli/``) and the OpenAI-compatible server (``server/``), the two
ways in. What they call lives in the layers below: ``evals/`` → ``agent/`` → ``prompts/`` →
``retrievers/`` → ``core/`` (docs/architecture.md).
"""

__version__ = "0.1.0"
