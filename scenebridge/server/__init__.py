"""The HTTP layer: an OpenAI-compatible endpoint over the shared agent service.

``config`` (how it runs), ``protocol`` (wire models), ``routes`` (thin), ``errors`` (one
translation to OpenAI's error shape), ``auth`` and ``limits`` (key, body size, work queue),
``state`` (the service opened in the lifespan), ``chat/`` (conversation -> request -> Markdown)
and ``recommendations`` (the structured endpoint). ``app.create_app`` puts them together (``serve.py`` runs it).
"""

from scenebridge.server.config import ServerConfig

__all__ = ["ServerConfig"]
