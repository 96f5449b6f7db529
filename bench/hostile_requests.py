"""Hostile requests against a running ``scenebridge serve``, with /health sampled meanwhile:
what one oversized conversation costs the server, and whether it keeps answering others.

    .venv/bin/python bench/hostile_requests.py http://127.0.0.1:8000 [--key KEY] [--interval 0.05]

The requests are the ones the probes of issue 16 sent (82 s and 15.8 s on the event loop then):
1,500 quoted unknown titles (~26 KB; refused now: more than SCENEBRIDGE_MAX_TITLES), 2,000
"not X" phrases (~25 KB; refused: SCENEBRIDGE_MAX_EXCLUSIONS), and for comparison the largest
message under the limits (50 quoted unknown titles, each searched for) and an ordinary question.
Each runs alone while a second client asks for /health every ``--interval`` seconds; prints a
Markdown table: status, error code, seconds, and /health's median and worst latency meanwhile
(the goal: under 100 ms). Only loopback addresses are accepted. Nothing is started here.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def message(text: str) -> dict:
    return {"model": "scenebridge", "messages": [{"role": "user", "content": text}], "explain": False}


REQUESTS = [
    ("1,500 quoted unknown titles",
     message("I loved " + ", ".join(f'"Qzx Unknown Film {n}"' for n in range(1500)) + ". What sci-fi should I watch?")),
    ('2,000 "not X" phrases', message("Some sci-fi please, " + " ".join(f"not Blorp{n}," for n in range(2000)))),
    ("50 quoted unknown titles (the limit)",
     message("I loved " + ", ".join(f'"Qzx Unknown Film {n}"' for n in range(50)))),
    ("an ordinary question", message("I loved Groundhog Day and Annie Hall, what sci-fi should I watch?")),
]


async def measure(client: httpx.AsyncClient, body: dict, interval: float) -> dict:
    latencies: list[float] = []
    done = asyncio.Event()

    async def sample():
        while not done.is_set():
            started = time.perf_counter()
            try:
                await client.get("/health", timeout=30)
                latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                latencies.append(float("inf"))
            await asyncio.sleep(interval)

    sampler = asyncio.create_task(sample())
    await asyncio.sleep(interval * 2)
    started = time.perf_counter()
    try:
        response = await client.post("/v1/chat/completions", json=body, timeout=300)
        status, code = response.status_code, ""
        if response.status_code != 200:
            try:
                code = (response.json().get("error") or {}).get("code", "")
            except ValueError:
                code = "not JSON"
    except httpx.HTTPError as exc:
        status, code = "error", type(exc).__name__
    seconds = time.perf_counter() - started
    done.set()
    await sampler
    return {"status": status, "code": code, "seconds": seconds, "health": latencies,
            "bytes": len(httpx.Request("POST", "http://x", json=body).content)}


async def main(args) -> None:
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    async with httpx.AsyncClient(base_url=args.url, headers=headers) as client:
        health = (await client.get("/health", timeout=30)).json()
        print(f"Machine: {platform.machine()}, Python {platform.python_version()}; server {args.url}; "
              f"store {health['store']['dataset']}; model server {health['model_server']['state']}; "
              f"/health sampled every {args.interval * 1000:.0f} ms.\n")
        print("| request | body KB | status | code | seconds | /health n | p50 ms | max ms |")
        print("|---|---:|---:|---|---:|---:|---:|---:|")
        for name, body in REQUESTS:
            row = await measure(client, body, args.interval)
            samples = row["health"]
            p50 = statistics.median(samples) * 1000 if samples else float("nan")
            worst = max(samples) * 1000 if samples else float("nan")
            print(f"| {name} | {row['bytes'] / 1024:.1f} | {row['status']} | {row['code']} | {row['seconds']:.2f} "
                  f"| {len(samples)} | {p50:.0f} | {worst:.0f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--key", help="its API key (SCENEBRIDGE_API_KEY), if it has one")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between /health requests")
    arguments = parser.parse_args()
    if urlsplit(arguments.url).hostname not in LOOPBACK:
        sys.exit(f"the server must be on this machine (127.0.0.1), not {arguments.url}")
    asyncio.run(main(arguments))
