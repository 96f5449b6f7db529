"""Load on the chat endpoint: chat completions from several clients at once, through the whole
stack (HTTP, chat parsing, the work queue, the agent, the model server).

    .venv/bin/python bench/serve_load.py [--requests 50] [--concurrency 8] [--store DIR]
        [--llm-url URL] [--explanations evidence|llm] [--max-concurrent 2] [--no-explain] [--stream]
        [--one-turn] [--warm-up N]
    .venv/bin/python bench/serve_load.py --url http://127.0.0.1:8000 [--key KEY]   # a running server

Without --url it starts ``scenebridge serve`` on a free 127.0.0.1 port over the store (default:
the settings' store) and the running model server (default: the local vLLM; it is never
started here), and stops it at the end. Conversations of two turns (a question naming two
liked titles, then "something older", "not Star Wars", "more" or "newer" on that answer) run
``--concurrency`` at a time until ``--requests`` are sent; each request may take
``--timeout`` seconds and the whole run ``--deadline``. Only loopback addresses are accepted.
``--stream`` asks for streamed answers (``stream: true``) and also times the first content (the
first chunk with text: what a person sees first); ``--one-turn`` sends only first questions;
``--warm-up N`` sends N questions one by one first, not counted (caches, lazy loads).
Prints a Markdown report: latency p50/p95/max, throughput, status counts (expected: no 5xx),
fallbacks, and the agent's own time per request (the rest is queueing and HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from scenebridge.server.launcher import launch, stop

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LIKED = [("Groundhog Day", "Annie Hall"), ("Clerks", "Clueless"), ("Liar Liar", "Toy Story"),
         ("The Princess Bride", "Young Frankenstein"), ("Airplane!", "Ghostbusters"),
         ("Monty Python and the Holy Grail", "Raising Arizona"), ("When Harry Met Sally...", "Office Space"),
         ("The Birdcage", "Mrs. Doubtfire")]
FOLLOW_UPS = ["something older", "not Star Wars", "more", "newer"]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_server(args) -> tuple[subprocess.Popen, str]:
    from agent.llm.server import is_ready
    from core.settings import get_settings

    settings = get_settings()
    llm_url = args.llm_url or settings.llm_url or settings.local_llm_url
    if urlsplit(llm_url).hostname not in LOOPBACK:
        sys.exit(f"--llm-url must be on this machine (127.0.0.1), not {llm_url}")
    if not is_ready(llm_url):
        sys.exit(f"no model server answers at {llm_url}: start one (scenebridge llm serve) or pass --llm-url")
    options = ["--store", str(args.store or settings.store_path), "--llm-url", llm_url, "--explanations",
               args.explanations, "--max-concurrent", str(args.max_concurrent), "--log-level", "warning"]
    try:
        return launch(options, Path(args.log))
    except RuntimeError as exc:
        sys.exit(str(exc))


class Load:
    def __init__(self, client: httpx.AsyncClient, args):
        self.client, self.args = client, args
        self.sent = 0
        self.results: list[dict] = []

    async def ask(self, messages: list[dict], turn: int) -> str | None:
        body = {"model": self.args.model, "messages": messages, "explain": self.args.explain}
        started = time.perf_counter()
        record = {"turn": turn}
        try:
            if self.args.stream:
                data = await self.streamed(body, started, record)
            else:
                response = await self.client.post("/v1/chat/completions", json=body, timeout=self.args.timeout)
                record["status"] = response.status_code
                data = response.json() if response.status_code == 200 else {}
        except httpx.HTTPError as exc:
            record["status"], data = type(exc).__name__, {}
        record["seconds"] = time.perf_counter() - started
        recommendation = data.get("recommendations") or {}
        record["agent"] = (recommendation.get("timings") or {}).get("total")
        record["fallback"] = bool(recommendation.get("fallback"))
        self.results.append(record)
        return data["choices"][0]["message"]["content"] if data else None

    async def streamed(self, body: dict, started: float, record: dict) -> dict:
        """A streamed answer read event by event: ``record["first"]`` is when its first text came;
        the answer comes back in the plain completion's shape (content, recommendations)."""
        text, final = [], {}
        async with self.client.stream("POST", "/v1/chat/completions", json={**body, "stream": True},
                                      timeout=self.args.timeout) as response:
            record["status"] = response.status_code
            if response.status_code != 200:
                await response.aread()
                return {}
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line.removeprefix("data: "))
                if "error" in chunk:
                    record["status"] = f"stream error {chunk['error'].get('code')}"
                    return {}
                for choice in chunk.get("choices", []):
                    if content := choice.get("delta", {}).get("content"):
                        record.setdefault("first", time.perf_counter() - started)
                        text.append(content)
                    if choice.get("finish_reason"):
                        final = chunk
        return {"choices": [{"message": {"content": "".join(text)}}],
                "recommendations": final.get("recommendations")}

    async def conversation(self, n: int) -> None:
        a, b = LIKED[n % len(LIKED)]
        messages = [{"role": "user", "content": f"I loved {a} and {b} — what sci-fi should I watch?"}]
        answer = await self.ask(messages, 1)
        if answer is None or self.args.one_turn or not self.take():
            return
        messages += [{"role": "assistant", "content": answer},
                     {"role": "user", "content": FOLLOW_UPS[n % len(FOLLOW_UPS)]}]
        await self.ask(messages, 2)

    def take(self) -> bool:
        if self.sent >= self.args.requests:
            return False
        self.sent += 1
        return True

    async def worker(self, counter) -> None:
        while self.take():
            await self.conversation(next(counter))

    async def run(self) -> float:
        import itertools

        counter = itertools.count()
        started = time.perf_counter()
        async with asyncio.timeout(self.args.deadline):
            await asyncio.gather(*(self.worker(counter) for _ in range(self.args.concurrency)))
        return time.perf_counter() - started


def report(args, url: str, health: dict, results: list[dict], wall: float) -> str:
    ok = [r for r in results if r["status"] == 200]
    statuses = Counter(str(r["status"]) for r in results)
    server_errors = sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500)
    client_errors = sum(n for s, n in statuses.items() if s.isdigit() and 400 <= int(s) < 500)
    transport = sum(n for s, n in statuses.items() if not s.isdigit())
    seconds = [r["seconds"] for r in ok]
    agent = [r["agent"] for r in ok if r["agent"] is not None]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{'streamed' if args.stream else 'whole'} answers; "
        f"server {'given (--url)' if args.url else 'started by the benchmark'} at {url}; store "
        f"{health.get('store', {}).get('dataset')} ({', '.join(health.get('store', {}).get('scenes', []))}); "
        f"model server {health.get('model_server', {}).get('models')} at {health.get('model_server', {}).get('url')}; "
        f"explanations: {'off' if not args.explain else health.get('explanations')}; "
        f"work queue {health.get('queue', {}).get('slots')} at once.",
        "",
        f"{len(results)} chat requests, {args.concurrency} in flight, "
        f"{'first questions only' if args.one_turn else 'two-turn conversations'}; wall "
        f"{wall:.1f} s, {len(results) / wall:.2f} requests/s.",
        "",
        "| requests | n | p50 s | p95 s | max s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rows in (("all answered", ok), ("first turns", [r for r in ok if r["turn"] == 1]),
                       ("follow-ups", [r for r in ok if r["turn"] == 2])):
        values = [r["seconds"] for r in rows]
        lines.append(f"| {name} | {len(values)} | {pct(values, 50):.2f} | {pct(values, 95):.2f} | "
                     f"{max(values, default=float('nan')):.2f} |")
    if args.stream:
        first = [r["first"] for r in ok if "first" in r]
        lines.append(f"| first content (streamed) | {len(first)} | {pct(first, 50):.2f} | {pct(first, 95):.2f} | "
                     f"{max(first, default=float('nan')):.2f} |")
    lines.append(f"| agent time per request (server side) | {len(agent)} | {pct(agent, 50):.2f} | "
                 f"{pct(agent, 95):.2f} | {max(agent, default=float('nan')):.2f} |")
    lines += [
        "",
        f"Status: {dict(sorted(statuses.items()))}; 5xx: {server_errors}, 4xx: {client_errors}, "
        f"transport errors: {transport}; LLM fallbacks: {sum(r['fallback'] for r in ok)}.",
    ]
    if seconds and agent:
        lines.append(f"Queueing and HTTP: p50 {pct(seconds, 50) - pct(agent, 50):.2f} s of the "
                     f"{pct(seconds, 50):.2f} s a client waits.")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a scenebridge server already running on this machine")
    parser.add_argument("--key", default=os.environ.get("SCENEBRIDGE_API_KEY"), help="its API key, if any")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model", default="scenebridge")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--llm-url")
    parser.add_argument("--explanations", choices=["evidence", "llm"], default="evidence",
                        help="how the started server words explanations")
    parser.add_argument("--max-concurrent", type=int, default=2, help="the started server's work slots")
    parser.add_argument("--no-explain", dest="explain", action="store_false", help="ask for no explanations")
    parser.add_argument("--stream", action="store_true", help="streamed answers; also time the first content")
    parser.add_argument("--one-turn", action="store_true", help="first questions only, no follow-ups")
    parser.add_argument("--warm-up", type=int, default=0, help="questions sent first, one by one, not counted")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=1200.0, help="seconds for the whole run")
    parser.add_argument("--log", default="/tmp/scenebridge-serve-load.log", help="log of the started server")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1000 or not 1 <= args.concurrency <= 64:
        sys.exit("--requests must be 1..1000 and --concurrency 1..64")

    process = None
    if args.url:
        if urlsplit(args.url).hostname not in LOOPBACK:
            sys.exit(f"only a server on this machine (127.0.0.1) may be loaded, not {args.url}")
        url = args.url.rstrip("/").removesuffix("/v1")
    else:
        process, url = start_server(args)
    try:
        headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, trust_env=False) as client:
            health = (await client.get("/health")).json()
            load = Load(client, args)
            for n in range(args.warm_up):
                a, b = LIKED[(n + 3) % len(LIKED)]
                await load.ask([{"role": "user", "content": f"I loved {a} and {b}, any sci-fi?"}], 0)
            load.results.clear()
            try:
                wall = await load.run()
            except TimeoutError:
                wall = args.deadline
                print(f"stopped at the --deadline of {args.deadline:.0f} s", file=sys.stderr)
        print(report(args, url, health, load.results, wall))
    finally:
        if process is not None:
            stop(process)


if __name__ == "__main__":
    asyncio.run(main())
