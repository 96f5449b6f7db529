"""Intent accuracy on the labelled chat set: how often each field of what a request asks
(scenebridge/server/chat/intent.py) is read right, and how long reading takes.

    .venv/bin/python bench/chat_intents.py [--store ~/.cache/scenebridge/store] [--data tests/data/chat_requests.jsonl]
        [--show-wrong] [--answers]

The set (70+ requests written by hand, ML-1M Comedy -> Sci-Fi titles: constraints, refinements
over turns, ambiguous titles, front-end task prompts, greetings, non-English) is read by the
rules (intent.read: tasks.reply, then conversation.understand) over the default store. Prints Markdown: per field, right / scored
(a request for picks scores every field; a task or a greeting only ``kind``), the share of
requests with every field right, and the reading time p50/p95. ``--show-wrong`` lists each miss.

``--answers`` also asks the app (in this process, over the same store, no model server, no
explanations) each request for picks and checks its picks against the constraints the label
states (genres wanted: each pick has one; avoided: none has any; years): the share of answers
whose picks honour every one, over the requests that state some and over all, and each answer
that does not, with its notes (a constraint the store cannot meet is relaxed and said so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.domain import Item
from core.settings import get_settings
from prompts import template_sha256
from retrievers import Retriever, SceneStore
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.intent import FIELDS, ChatIntent, Labelled, field_right, load_labelled, read, scored_fields
from scenebridge.server.chat.model_intent import IntentModel, ModelRecord, merge, to_intent

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "chat_requests.jsonl"
RUNS = ROOT / "runs" / "chat_intents"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=get_settings().store_path)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--answers", action="store_true", help="check the answers' picks against the constraints")
    parser.add_argument("--chat-llm-url", help="also score an instruct model (OpenAI-compatible, .../v1) reading "
                        "the requests for picks, alone and merged with the rules")
    parser.add_argument("--chat-llm-model", help="its served name [default: the server's first]")
    parser.add_argument("--cache", type=Path, help="model readings kept here (JSON lines, by request id, model "
                        "and prompt hash): a run cut short resumes, and the rules can be re-scored without "
                        "asking the model again [default: runs/chat_intents/<data>.<model>.jsonl]")
    args = parser.parse_args()

    rows = load_labelled(args.data)
    catalogue = ChatCatalogue.build(Retriever(SceneStore(args.store)))
    readers: dict[str, list[ChatIntent]] = {"rules": []}
    seconds: dict[str, list[float]] = {"rules": []}
    for row in rows:
        started = time.perf_counter()
        readers["rules"].append(read(row.turns, catalogue))
        seconds["rules"].append(time.perf_counter() - started)
    if args.chat_llm_url:
        readings = asyncio.run(model_readings(args, rows, catalogue, readers["rules"]))
        # The model alone: its record for a request for picks (nothing when it wrote none); kind
        # and language are the rules' (the model is not asked them).
        readers["model"] = [(r.intent or ChatIntent()).model_copy(update={"language": rules.language})
                            if rules.kind == "recommend" else rules
                            for r, rules in zip(readings, readers["rules"], strict=True)]
        readers["merged"] = [merge(rules, r.intent, row.turns, catalogue)
                             for rules, r, row in zip(readers["rules"], readings, rows, strict=True)]
        asked = [r for r in readings if r.seconds]
        seconds["model"] = [r.seconds for r in asked] or [0.0]
        failed = [r.error for r in readings if r.error]
        print(f"Model {readings[0].model if readings else ''} at {args.chat_llm_url}: {len(asked)} requests read "
              f"(the others are tasks or small talk, told by the rules), {len(failed)} answers not a record"
              + (f" (e.g. {failed[0]})" if failed else "") + ".\n")

    print(f"Machine: {platform.machine()}, Python {platform.python_version()}; store {args.store}; "
          f"{len(rows)} requests ({args.data.name})\n")
    scores = {name: score(rows, got) for name, got in readers.items()}
    print("| field | " + " | ".join(scores) + " |\n|---|" + "---:|" * len(scores))
    for f in FIELDS:
        print(f"| {f} | " + " | ".join(f"{s.right[f]}/{s.scored[f]} ({s.right[f] / max(s.scored[f], 1):.0%})"
                                       for s in scores.values()) + " |")
    print("| every field | " + " | ".join(f"{s.whole}/{len(rows)} ({s.whole / len(rows):.0%})"
                                         for s in scores.values()) + " |")
    print("\nReading time: " + "; ".join(f"{name} p50 {1000 * np.percentile(t, 50):.1f} ms, p95 "
                                         f"{1000 * np.percentile(t, 95):.1f} ms" for name, t in seconds.items()) + ".")
    languages = sum(row.intent.language == got.language for row, got in zip(rows, readers["rules"], strict=True))
    print(f"Language (not scored above: languages.language_of tells Chinese, Japanese and Korean from the "
          f"rest, which is answered in English): {languages} of {len(rows)} as labelled.")
    if args.answers:
        answers(args.store, [(r.name, r.turns, r.intent) for r in rows], catalogue)
    if args.show_wrong:
        for name, s in scores.items():
            print(f"\n{name}: the misses\n\n| request | field | expected | read |\n|---|---|---|---|")
            for request, f, want, have in s.misses:
                print(f"| {request} | {f} | {want} | {have} |")


@dataclass
class Score:
    right: dict[str, int]
    scored: dict[str, int]
    whole: int
    misses: list[tuple[str, str, object, object]]


def score(rows: list[Labelled], got: list[ChatIntent]) -> Score:
    result = Score({f: 0 for f in FIELDS}, {f: 0 for f in FIELDS}, 0, [])
    for row, intent in zip(rows, got, strict=True):
        fields = scored_fields(row.intent)
        wrong = [f for f in fields if not field_right(f, row.intent, intent)]
        for f in fields:
            result.scored[f] += 1
            result.right[f] += f not in wrong
        result.whole += not wrong
        result.misses += [(row.name, f, getattr(row.intent, f), getattr(intent, f)) for f in wrong]
    return result


@dataclass
class Reading:
    """A model reading as the bench keeps it (ModelReading with the served name, JSON-able)."""
    model: str
    intent: ChatIntent | None
    seconds: float
    error: str | None = None


async def model_readings(args, rows: list[Labelled], catalogue: ChatCatalogue,
                         rules: list[ChatIntent]) -> list[Reading]:
    """The model's reading of each request the rules take for a request for picks, from the cache
    where it is there (same request, model and prompt), else asked (one at a time: latency as one
    user sees it), with a progress bar."""
    reader = IntentModel(args.chat_llm_url, model=args.chat_llm_model, timeout_s=120.0)
    model = await reader.model()
    prompt = template_sha256("chat_intent")[:12]
    cache = args.cache or RUNS / f"{args.data.stem}.{model.replace('/', '_')}.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    kept: dict[str, dict] = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            record = json.loads(line)
            if record["model"] == model and record["prompt"] == prompt:
                kept[record["id"]] = record
    readings = []
    with cache.open("a") as out:
        for row, rule in tqdm(list(zip(rows, rules, strict=True)), desc=f"asking {model}", unit="request"):
            if rule.kind != "recommend":
                readings.append(Reading(model, None, 0.0))
                continue
            if row.name not in kept:
                got = await reader.read(row.turns, catalogue)
                record = {"id": row.name, "model": model, "prompt": prompt, "seconds": round(got.seconds, 3),
                          "record": got.record.model_dump() if got.record else None, "error": got.error}
                out.write(json.dumps(record) + "\n")
                out.flush()
                kept[row.name] = record
            record = kept[row.name]
            intent = to_intent(ModelRecord(**record["record"]), catalogue) if record["record"] else None
            readings.append(Reading(model, intent, record["seconds"], record["error"]))
    return readings


def honours(item: Item, expected: ChatIntent) -> bool:
    genres = set(item.genres)
    return ((not expected.genres or bool(genres & set(expected.genres))) and not genres & set(expected.avoid_genres)
            and (expected.min_year is None or (item.year or expected.min_year) >= expected.min_year)
            and (expected.max_year is None or (item.year or expected.max_year) <= expected.max_year))


def constrained(expected: ChatIntent) -> bool:
    return bool(expected.genres or expected.avoid_genres or expected.min_year is not None
                or expected.max_year is not None)


def answers(store: Path, rows: list[tuple[str, list, ChatIntent]], catalogue: ChatCatalogue) -> None:
    """Each request for picks answered by the app; its picks checked against the label's constraints."""
    from fastapi.testclient import TestClient

    from scenebridge.server.app import create_app

    asked = [(name, turns, expected) for name, turns, expected in rows if expected.kind == "recommend"]
    kept = {True: 0, False: 0}
    counted = {True: 0, False: 0}
    failures, without_picks, seconds = [], [], []
    # A shared machine may be slow: the bench measures what is picked, not the request deadline.
    with TestClient(create_app(store_dir=store, use_llm=False, api_key=None, request_timeout_s=600.0)) as client:
        for name, turns, expected in asked:
            body = {"model": "scenebridge", "explain": False,
                    "messages": [{"role": t.role, "content": t.text} for t in turns]}
            started = time.perf_counter()
            response = client.post("/v1/chat/completions", json=body)
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            answer = response.json()
            picks = [i["item_id"] for i in (answer.get("recommendations") or {}).get("items", [])]
            if not picks:
                without_picks.append(name)
                continue
            ok = all(honours(catalogue.items[i], expected) for i in picks)
            kept[constrained(expected)] += ok
            counted[constrained(expected)] += 1
            if not ok:
                failures.append((name, [i for i in picks if not honours(catalogue.items[i], expected)],
                                 answer["understood"]["notes"]))
    total = counted[True] + counted[False]
    print(f"\nAnswers ({len(asked)} requests for picks, {total} answered with picks, p50 "
          f"{1000 * np.percentile(seconds, 50):.0f} ms): picks honour every stated genre and year constraint in "
          f"{kept[True]} of {counted[True]} answers to requests stating some "
          f"({kept[True] / max(counted[True], 1):.0%}), {kept[True] + kept[False]} of {total} over all "
          f"({(kept[True] + kept[False]) / max(total, 1):.0%}). No picks (the help answer): "
          f"{', '.join(without_picks) or 'none'}.")
    if failures:
        print("\n| request | picks outside the constraints | notes |\n|---|---|---|")
        for name, outside, notes in failures:
            print(f"| {name} | {'; '.join(outside)} | {' '.join(notes)} |")


if __name__ == "__main__":
    main()
