"""Intent accuracy on the labelled chat set: how often each field of what a request asks
(scenebridge/server/chat/intent.py) is read right, and how long reading takes.

    .venv/bin/python bench/chat_intents.py [--store ~/.cache/scenebridge/store] [--data tests/data/chat_requests.jsonl]
        [--show-wrong]

The set (70+ requests written by hand, ML-1M Comedy -> Sci-Fi titles: constraints, refinements
over turns, ambiguous titles, front-end task prompts, greetings, non-English) is read by the
rules (intent.read: tasks.reply, then conversation.understand) over the default store. Prints Markdown: per field, right / scored
(a request for picks scores every field; a task or a greeting only ``kind``), the share of
requests with every field right, and the reading time p50/p95. ``--show-wrong`` lists each miss.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from core.settings import get_settings
from retrievers import Retriever, SceneStore
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.intent import FIELDS, field_right, load_labelled, read, scored_fields

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "chat_requests.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=get_settings().store_path)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show-wrong", action="store_true")
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
    if args.show_wrong:
        print("\n| request | field | expected | read |\n|---|---|---|---|")
        for name, f, want, have in misses:
            print(f"| {name} | {f} | {want} | {have} |")


if __name__ == "__main__":
    main()
