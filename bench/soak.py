"""Soak: a running ``scenebridge serve`` under a steady mix of requests for minutes, its memory,
open files and latency watched. Does it leak, slow down, or start failing?

    .venv/bin/python bench/soak.py http://127.0.0.1:8000 [--key KEY] [--minutes 10] [--in-flight 8]
        [--pid PID] [--sample-s 5] [--timeout 60] [--seed 0]

``--in-flight`` clients ask without pause until ``--minutes`` have passed, each picking (seeded)
from the mix: chat completions through the official ``openai`` client, plain or streamed, in
several phrasings, half of them followed by a second turn ("something older", "not Star Wars",
"more"...); ``POST /v1/recommendations`` by ``user_id`` and by ``likes``; and bad requests, each
with the status it must get: malformed JSON (400), an unknown model (404), ``k`` over 50 (400)
and wrong types (400). The liked titles are ML-1M comedies and the users ``1m_N``: the default
store (ML-1M Comedy -> Sci-Fi). The server's process (``--pid``, else whoever listens on the
URL's port) is sampled every ``--sample-s`` seconds: RSS and open file descriptors.

Prints Markdown: latency p50/p95 of the answered requests, RSS and open fds in the first and the
last minute (the first and last half of a run shorter than two minutes), RSS growth between them,
the count of 5xx, and per kind of request the statuses and how many were not the expected one.
Only loopback addresses are accepted; nothing is started here.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import numpy as np
import openai
import psutil

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LIKED = [("Groundhog Day", "Annie Hall"), ("Clerks", "Clueless"), ("Liar Liar", "Toy Story"),
         ("The Princess Bride", "Young Frankenstein"), ("Airplane!", "Ghostbusters"),
         ("Monty Python and the Holy Grail", "Raising Arizona"), ("The Birdcage", "Mrs. Doubtfire")]
PHRASINGS = ["I loved {a} and {b}, what sci-fi should I watch?", "Big fan of {a}. Any science fiction for me?",
             "{a} and {b} are my favourite comedies: something sci-fi?", 'Recommend some scifi, I liked "{a}"',
             "top 3 sci-fi for someone who enjoyed {b}"]
FOLLOW_UPS = ["something older", "not Star Wars", "more", "newer", "from the 80s", "top 3"]
USERS = 200  # 1m_1 .. 1m_200
Status = int | str  # an HTTP status, or the name of the exception when none came


@dataclass
class Record:
    kind: str
    at: float  # seconds since the start of the run, when the request was sent
    seconds: float
    status: Status
    expected: int


@dataclass
class Sample:
    at: float
    rss: int
    fds: int


class Soak:
    def __init__(self, args, http: httpx.AsyncClient, client: openai.AsyncOpenAI):
        self.args, self.http, self.client = args, http, client
        self.records: list[Record] = []
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    async def timed(self, kind: str, expected: int, call: Callable[[], Awaitable[tuple[Status, object]]]) -> object:
        sent = self.now()
        try:
            status, value = await call()
        except openai.APIStatusError as exc:
            status, value = exc.status_code, None
        except (openai.APIError, httpx.HTTPError) as exc:  # no answer at all: refused, reset, timed out
            status, value = type(exc).__name__, None
        self.records.append(Record(kind, sent, self.now() - sent, status, expected))
        return value

    # -- the requests -----------------------------------------------------------------------------
    async def _chat(self, messages: list[dict], *, stream: bool, model: str = "scenebridge",
                    **extra) -> tuple[Status, str]:
        if stream:
            chunks = await self.client.chat.completions.create(model=model, messages=messages, stream=True,
                                                               extra_body=extra or None)
            return 200, "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        answer = await self.client.chat.completions.create(model=model, messages=messages, extra_body=extra or None)
        return 200, answer.choices[0].message.content or ""

    async def _post(self, path: str, **kwargs) -> tuple[Status, object]:
        response = await self.http.post(path, **kwargs)
        return response.status_code, response

    async def chat(self, rng: random.Random) -> None:
        a, b = rng.choice(LIKED)
        stream = rng.random() < 0.5
        kind = "chat (stream)" if stream else "chat"
        messages = [{"role": "user", "content": rng.choice(PHRASINGS).format(a=a, b=b)}]
        text = await self.timed(kind, 200, lambda: self._chat(messages, stream=stream))
        if text and rng.random() < 0.5:
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": rng.choice(FOLLOW_UPS)}]
            await self.timed(f"{kind}, follow-up", 200, lambda: self._chat(messages, stream=stream))

    async def recommendations(self, rng: random.Random) -> None:
        body = {"target_scene": "Sci-Fi", "k": rng.choice([5, 10]), "explain": rng.random() < 0.5}
        if rng.random() < 0.5:
            body["user_id"], kind = f"1m_{rng.randint(1, USERS)}", "recommendations (user_id)"
        else:
            body["likes"], kind = list(rng.choice(LIKED)), "recommendations (likes)"
        await self.timed(kind, 200, lambda: self._post("/v1/recommendations", json=body))

    async def bad(self, rng: random.Random) -> None:
        ask = [{"role": "user", "content": "I loved Groundhog Day"}]
        choice = rng.randrange(5)
        if choice == 0:
            await self.timed("bad: malformed JSON", 400, lambda: self._post(
                "/v1/chat/completions", content=b'{"model": "scenebridge", "messages": [',
                headers={"content-type": "application/json"}))
        elif choice == 1:
            await self.timed("bad: unknown model", 404, lambda: self._chat(ask, stream=False, model="gpt-4o"))
        elif choice == 2:
            await self.timed("bad: k over 50", 400, lambda: self._chat(ask, stream=rng.random() < 0.5, k=51))
        elif choice == 3:
            await self.timed("bad: k over 50", 400, lambda: self._post(
                "/v1/recommendations", json={"user_id": "1m_1", "target_scene": "Sci-Fi", "k": 500}))
        else:
            await self.timed("bad: wrong type", 400, lambda: self._post("/v1/recommendations", json={
                "user_id": 1, "target_scene": "Sci-Fi", "explain": "yes"}))

    async def client_loop(self, n: int, until: float) -> None:
        rng = random.Random(self.args.seed * 1000 + n)
        while self.now() < until:
            pick = rng.random()
            await (self.chat if pick < 0.5 else self.recommendations if pick < 0.8 else self.bad)(rng)

    async def watch(self, process: psutil.Process, samples: list[Sample], until: float) -> None:
        while True:
            samples.append(Sample(self.now(), process.memory_info().rss, process.num_fds()))
            if self.now() >= until:
                return
            await asyncio.sleep(min(self.args.sample_s, max(until - self.now(), 0)))


def server_process(url: str, pid: int | None) -> psutil.Process:
    if pid is not None:
        return psutil.Process(pid)
    port = urlsplit(url).port or 80
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return psutil.Process(connection.pid)
    sys.exit(f"no process of this user listens on port {port}: give the server's --pid")


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f}" if values else "-"


def report(soak: Soak, samples: list[Sample], duration: float, process: psutil.Process, health: dict) -> None:
    records = soak.records
    window = min(60.0, duration / 2)
    first = [r.seconds for r in records if r.status == 200 and r.at < window]
    last = [r.seconds for r in records if r.status == 200 and r.at >= duration - window]
    early = [s for s in samples if s.at <= window][-1]
    late = samples[-1]
    growth = (late.rss - early.rss) / early.rss * 100
    errors = sum(1 for r in records if isinstance(r.status, int) and r.status >= 500)
    unanswered = sum(1 for r in records if isinstance(r.status, str))
    mib = 1024 * 1024
    print(f"Machine: {platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}; server "
          f"{soak.args.url} (pid {process.pid}); store {health['store']['dataset']}; model server "
          f"{health['model_server']['state']}; {duration / 60:.1f} min, {soak.args.in_flight} in flight, "
          f"{len(records)} requests ({len(records) / duration:.1f}/s).\n")
    print(f"| | first {window:.0f} s | last {window:.0f} s |\n|---|---:|---:|")
    print(f"| answered (200) | {len(first)} | {len(last)} |")
    print(f"| latency p50 ms | {pct(first, 50)} | {pct(last, 50)} |")
    print(f"| latency p95 ms | {pct(first, 95)} | {pct(last, 95)} |")
    print(f"| RSS MiB (at {early.at:.0f} s, at {late.at:.0f} s) | {early.rss / mib:.0f} | {late.rss / mib:.0f} |")
    print(f"| open fds | {early.fds} | {late.fds} |\n")
    print(f"RSS growth from {early.at:.0f} s to the end: **{growth:+.1f} %** (from {samples[0].rss / mib:.0f} MiB "
          f"before the load to "
          f"{max(s.rss for s in samples) / mib:.0f} MiB at most); open fds {samples[0].fds} -> {late.fds} "
          f"(at most {max(s.fds for s in samples)}); **5xx: {errors}**; no answer at all: {unanswered}.\n")
    print("| request | sent | statuses | expected | unexpected | p50 ms | p95 ms |\n|---|---:|---|---:|---:|---:|---:|")
    for kind in sorted({r.kind for r in records}):
        mine = [r for r in records if r.kind == kind]
        statuses = Counter(r.status for r in mine)
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=lambda i: str(i[0])))
        seconds = [r.seconds for r in mine]
        print(f"| {kind} | {len(mine)} | {shown} | {mine[0].expected} | "
              f"{sum(r.status != r.expected for r in mine)} | {pct(seconds, 50)} | {pct(seconds, 95)} |")


async def main(args) -> None:
    process = server_process(args.url, args.pid)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    limits = httpx.Limits(max_connections=2 * args.in_flight)
    async with (httpx.AsyncClient(base_url=args.url, headers=headers, timeout=args.timeout, limits=limits) as http,
                httpx.AsyncClient(timeout=args.timeout, limits=limits) as transport):
        health = (await http.get("/health")).json()
        client = openai.AsyncOpenAI(base_url=f"{args.url.rstrip('/')}/v1", api_key=args.key or "unused",
                                    max_retries=0, timeout=args.timeout, http_client=transport)
        soak = Soak(args, http, client)
        until = args.minutes * 60
        samples: list[Sample] = []
        watcher = asyncio.create_task(soak.watch(process, samples, until))
        await asyncio.gather(*(soak.client_loop(n, until) for n in range(args.in_flight)))
        duration = soak.now()
        await watcher
        samples.append(Sample(duration, process.memory_info().rss, process.num_fds()))
    report(soak, samples, duration, process, health)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--key", help="its API key (SCENEBRIDGE_API_KEY), if it has one")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to keep asking")
    parser.add_argument("--in-flight", type=int, default=8, help="clients asking at once")
    parser.add_argument("--pid", type=int, help="the server's process (default: whoever listens on the port)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS and fd samples")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    if urlsplit(arguments.url).hostname not in LOOPBACK:
        sys.exit(f"the server must be on this machine (127.0.0.1), not {arguments.url}")
    asyncio.run(main(arguments))
