"""serve.py: the OpenAI-compatible endpoint for chat front-ends (Open WebUI, the openai client,
langchain's ChatOpenAI) asking for explained recommendations.

    scenebridge serve --port 8000 --llm-url http://gpu:8000/v1 --store DIR

Endpoints: ``GET /v1/models`` (``scenebridge`` and ``scenebridge:<scene>``), ``POST
/v1/chat/completions`` (plain or streamed), ``POST /v1/recommendations`` (structured),
``GET /health``. The parts live in ``scenebridge/server/`` (``app.py`` puts them together); this
file is the entry point that runs them.
"""

from scenebridge.server.app import create_app, run
from scenebridge.server.config import ServerConfig

__all__ = ["create_app", "run"]

if __name__ == "__main__":
    from core.settings import offline_environment

    offline_environment()
    run(ServerConfig())
