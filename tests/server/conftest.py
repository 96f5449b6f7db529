"""The app as a real server: ``scenebridge serve`` (uvicorn) in a subprocess on a free loopback
port, over the test store and the real vLLM server, with an API key. Started once per session
(about 15 s), stopped at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

KEY = "test-key-0123456789"
READY_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("SCENEBRIDGE_API_KEY", None)
    if key:
        env["SCENEBRIDGE_API_KEY"] = key
    command = [sys.executable, "-c", "from scenebridge.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--store", str(store), "--llm-url", llm_url, "--log-level", "warning", *extra]
    handle = log.open("w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                               cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", key, log)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return process, server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"the server did not answer /health within {READY_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def server(store_path, llm_url, tmp_path_factory):
    """Model-worded explanations are on, as in production; tests ask for them sparingly
    (``explain: false`` elsewhere: each costs seconds on this CPU)."""
    process, running = start_server(store_path, llm_url, tmp_path_factory.mktemp("serve") / "server.log")
    yield running
    stop_server(process)


@pytest.fixture(scope="module")
def server_without_llm(store_path, tmp_path_factory):
    """The same app pointed at a model server that is down (a free port nobody listens on)."""
    process, running = start_server(store_path, f"http://127.0.0.1:{free_port()}/v1",
                                    tmp_path_factory.mktemp("serve-down") / "server.log", key=None,
                                    extra=["--explanations", "evidence"])
    yield running
    stop_server(process)
