"""scenebridge: cross-scene recommendations ranked and explained by a local language model.

This package holds what every part shares: settings, domain models, errors, the data
loaders and the CLI. Retrieval lives in ``retrievers/``, ranking in ``agent/``.
"""

__version__ = "0.1.0"
