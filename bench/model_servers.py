"""What the local model servers cost in memory: each vLLM server scenebridge started (`scenebridge
llm serve`, `llm serve --chat`), found by its pid file, with the resident memory of its whole
process tree (psutil), the model it serves and its URL; and the machine's memory in use.

    .venv/bin/python bench/model_servers.py

Run it with both servers up to see what serving two models beside each other takes (docs/serving.md,
"Two models, one service"). Prints Markdown.
"""

from __future__ import annotations

import argparse
import platform

import psutil

from agent.llm.server import find_server, served_models
from core.settings import get_settings


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    settings = get_settings()
    print(f"Machine: {platform.machine()}, {psutil.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.1f} GiB; in use {psutil.virtual_memory().used / 2**30:.1f} GiB\n")
    print("| port | model | pid | resident memory (process tree) |\n|---:|---|---:|---:|")
    for port in sorted({settings.llm_port, settings.chat_llm_port}):
        server = find_server(port, settings.logs_dir)
        if server is None:
            print(f"| {port} | not running | - | - |")
            continue
        root = psutil.Process(server.pid)
        rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        url = f"http://{settings.llm_host}:{port}/v1"
        print(f"| {port} | {', '.join(served_models(url))} | {server.pid} | {rss / 2**30:.2f} GiB |")


if __name__ == "__main__":
    main()
