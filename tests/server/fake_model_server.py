"""A fake model server for what a real vLLM cannot be made to do on demand (stall, hold its
explanation calls): the three endpoints the agent calls (``/v1/models``, ``/v1/completions``,
``/tokenize``) on a free loopback port, in a thread.

A completion with a JSON schema (``structured_outputs``) is an explanation, answered with
``explanation(request)``; any other is a ranking label (" A", with logprobs) or the breaker's
one-token trial. ``stall()`` makes every request (``only="completions"``: completions only) wait
until ``resume()``; ``hold()`` makes explanation calls wait until ``release()``, counted in
``waiting``, each answer's ``time.perf_counter()`` kept in ``answered``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scenebridge.server.launcher import free_port

HANG = 60.0  # seconds: only ever reached when something is broken
LABEL_LOGPROBS = {"tokens": [" A"], "token_logprobs": [-0.1], "text_offset": [0],
                  "top_logprobs": [{" A": -0.1, " B": -1.0, " C": -2.0}]}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a stalled request: expected here


def one_token(request: dict) -> list[int]:
    """``/tokenize``: a one-character text gets its own id (the verbalizer's labels differ), any
    other text one token."""
    text = request.get("prompt", "").strip()
    return [1000 + ord(text[0]) if len(text) == 1 else 1]


class FakeModelServer:
    def __init__(self, *, model: str = "fake-model", explanation: Callable[[dict], dict],
                 tokens: Callable[[dict], list[int]] = one_token):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.model = model
        self.requests: list[str] = []
        self.waiting = 0
        self.answered: list[float] = []
        self._go, self._explain = threading.Event(), threading.Event()
        self._go.set()
        self._explain.set()
        self._stalled_paths: tuple[str, ...] = ()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, payload: dict) -> None:
                path = self.path
                fake.requests.append(path)
                if any(path.startswith(p) for p in fake._stalled_paths):
                    fake._go.wait(HANG)
                body = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave the call up
                    pass

            def do_GET(self):
                self._answer({"object": "list", "data": [{"id": fake.model, "object": "model", "created": 0,
                                                          "owned_by": "tests"}]})

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                if self.path.startswith("/tokenize"):
                    return self._answer({"tokens": tokens(request)})
                if request.get("structured_outputs"):  # an explanation
                    fake.waiting += 1
                    fake._explain.wait(HANG)
                    fake.waiting -= 1
                    fake.answered.append(time.perf_counter())
                    text, logprobs = json.dumps(explanation(request)), None
                else:  # a ranking label, or the breaker's one-token trial
                    text, logprobs = " A", LABEL_LOGPROBS
                self._answer({"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": fake.model,
                              "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": logprobs}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}})

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # -- every request, or completions only ------------------------------------------------------
    def stall(self, only: str | None = None) -> None:
        self._go.clear()
        self._stalled_paths = ("/v1/completions",) if only == "completions" else ("/",)

    def resume(self) -> None:
        self._stalled_paths = ()
        self._go.set()

    # -- explanation calls -------------------------------------------------------------------------
    def hold(self) -> None:
        self._explain.clear()

    def release(self) -> None:
        self._explain.set()

    def wait_for_held(self, n: int) -> None:
        deadline = time.monotonic() + HANG
        while self.waiting < n:
            assert time.monotonic() < deadline, f"{self.waiting} explanation calls held, expected {n}"
            time.sleep(0.02)

    def close(self) -> None:
        self.resume()
        self.release()
        self._server.shutdown()
        self._server.server_close()
