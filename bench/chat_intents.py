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
import platform
import time
from pathlib import Path

import numpy as np

from core.domain import Item
from core.settings import get_settings
from retrievers import Retriever, SceneStore
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.intent import FIELDS, ChatIntent, field_right, load_labelled, read, scored_fields

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "chat_requests.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=get_settings().store_path)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--answers", action="store_true", help="check the answers' picks against the constraints")
    args = parser.parse_args()

    rows = [(r.name, r.turns, r.intent) for r in load_labelled(args.data)]
    catalogue = ChatCatalogue.build(Retriever(SceneStore(args.store)))
    right = {f: 0 for f in FIELDS}
    scored = {f: 0 for f in FIELDS}
    whole, seconds, misses, languages = 0, [], [], 0
    for name, turns, expected in rows:
        started = time.perf_counter()
        got = read(turns, catalogue)
        seconds.append(time.perf_counter() - started)
        fields = scored_fields(expected)
        wrong = [f for f in fields if not field_right(f, expected, got)]
        for f in fields:
            scored[f] += 1
            right[f] += f not in wrong
        whole += not wrong
        languages += expected.language == got.language
        misses += [(name, f, getattr(expected, f), getattr(got, f)) for f in wrong]

    print(f"Machine: {platform.machine()}, Python {platform.python_version()}; store {args.store}; "
          f"{len(rows)} requests ({args.data.name}); reader: rules\n")
    print("| field | right | scored | share |\n|---|---:|---:|---:|")
    for f in FIELDS:
        print(f"| {f} | {right[f]} | {scored[f]} | {right[f] / max(scored[f], 1):.0%} |")
    print(f"\nEvery field right: {whole} of {len(rows)} ({whole / len(rows):.0%}). Reading p50 "
          f"{1000 * np.percentile(seconds, 50):.1f} ms, p95 {1000 * np.percentile(seconds, 95):.1f} ms.")
    print(f"Language (not scored above: languages.language_of tells Chinese, Japanese and Korean from the "
          f"rest, which is answered in English): {languages} of {len(rows)} as labelled.")
    if args.answers:
        answers(args.store, rows, catalogue)
    if args.show_wrong:
        print("\n| request | field | expected | read |\n|---|---|---|---|")
        for name, f, want, have in misses:
            print(f"| {name} | {f} | {want} | {have} |")


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
