"""scenebridge inside other frameworks, as clients of its HTTP API (``scenebridge serve``): nothing
here imports the server or the agent, so an application needs only the URL."""
