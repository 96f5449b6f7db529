"""The app as a real server: ``scenebridge serve`` (uvicorn) in a subprocess on a free loopback
port, over the test store and the real vLLM server, with an API key. Started once per session
(about 15 s), stopped at the end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scenebridge.server.launcher import free_port, launch, stop

KEY = "test-key-0123456789"
READY_TIMEOUT = 180.0


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    key: str | None
    log: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


def start_server(store: Path, llm_url: str, log: Path, *, key: str | None = KEY, extra: list[str] = ()):
    process, url = launch(["--store", str(store), "--llm-url", llm_url, "--log-level", "warning", *extra], log,
                          key=key, timeout=READY_TIMEOUT)
    return process, Server(url, key, log)


@pytest.fixture(scope="session")
def server(store_path, llm_url, tmp_path_factory):
    """At the production defaults (explanations from the evidence, no model call)."""
    process, running = start_server(store_path, llm_url, tmp_path_factory.mktemp("serve") / "server.log")
    yield running
    stop(process)


@pytest.fixture(scope="module")
def server_without_llm(store_path, tmp_path_factory):
    """The same app pointed at a model server that is down (a free port nobody listens on)."""
    process, running = start_server(store_path, f"http://127.0.0.1:{free_port()}/v1",
                                    tmp_path_factory.mktemp("serve-down") / "server.log", key=None,
                                    extra=["--explanations", "evidence"])
    yield running
    stop(process)
