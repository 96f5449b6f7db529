"""Latency of the re-ranker (``--ranker rerank``) on the local model server: a whole
``recommend`` call for users not seen before (no prefix cache), its ranking step and the
prompt's length.

    .venv/bin/python bench/rerank_latency.py [--users 30] [--model NAME|DIR] [--llm-url URL]
                                             [--permutations 1]

Against the default store (ML-1M Comedy -> Sci-Fi) and the model server at --llm-url (default: the
local one, started if none answers). Prints a Markdown table; docs/benchmarks.md keeps the last run.
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np

from agent.candidates import load_scene_data
from agent.cases import active_users, users_in
from agent.requests import RecommendRequest
from agent.service import open_service
from core.settings import get_settings


def pct(values, q) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def main(args) -> None:
    settings = get_settings()
    async with open_service(settings.store_path, llm_url=args.llm_url, model=args.model) as service:
        data = load_scene_data(service.retriever)
        users = users_in(active_users(data, args.source, args.target), "test")
        picked = [str(u) for u in np.random.default_rng(args.seed).choice(users, args.users + 1, replace=False)]
        request = dict(target_scene=args.target, source_scene=args.source, explain=False, ranker="rerank",
                       permutations=args.permutations)
        await service.recommend(RecommendRequest(user_id=picked[0], **request))  # warm-up
        rows = []
        for user in picked[1:]:
            result = await service.recommend(RecommendRequest(user_id=user, **request))
            rows.append(result)
    timings = {step: [r.timings[step] for r in rows] for step in ("candidates", "ranking", "model", "total")}
    fallbacks = sum(r.fallback is not None for r in rows)
    print(f"Model {rows[0].model}; {args.users} test users, {args.permutations} order(s); fallbacks {fallbacks}.\n")
    print("| step | p50 s | p95 s |\n|---|---:|---:|")
    for step, values in timings.items():
        print(f"| {step} | {pct(values, 50):.3f} | {pct(values, 95):.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--source", default="Comedy")
    parser.add_argument("--target", default="Sci-Fi")
    parser.add_argument("--permutations", type=int, default=1)
    parser.add_argument("--model", help="Model the server serves (packaged name or tuned directory).")
    parser.add_argument("--llm-url", help="OpenAI-compatible model server [default: the local one].")
    parser.add_argument("--seed", type=int, default=0)
    asyncio.run(main(parser.parse_args()))
