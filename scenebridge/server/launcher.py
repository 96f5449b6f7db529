"""Run ``scenebridge serve`` as its own process on a free loopback port, as a client meets it:
the load bench and the server tests start and stop it through here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


# uvicorn's own limits (app.run): a header block larger than this is refused (by h11, uvicorn's
# pure-Python parser; httptools, used when installed, has its own fixed limit), and a keep-alive
# connection idle for keep_alive_s is closed. The body's arrival is timed by limits.BodyLimit.
MAX_HEADER_BYTES = 16 * 1024


def uvicorn_limits(config) -> dict[str, object]:
    """uvicorn.run's timeout and size options for a ServerConfig."""
    return {"timeout_keep_alive": config.keep_alive_s, "h11_max_incomplete_event_size": MAX_HEADER_BYTES}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(options: Sequence[str], log: Path, *, key: str | None = None,
           timeout: float = 300.0) -> tuple[subprocess.Popen, str]:
    """Start ``scenebridge serve --host 127.0.0.1 --port <free> <options>``; return the process and
    its base URL once ``/health`` answers. ``key`` becomes SCENEBRIDGE_API_KEY (unset otherwise)."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("SCENEBRIDGE_API_KEY", None)
    if key:
        env["SCENEBRIDGE_API_KEY"] = key
    command = [sys.executable, "-c", "from scenebridge.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(process)
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C (graceful shutdown), then SIGKILL the whole process group after 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
