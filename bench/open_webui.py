"""Open WebUI driven through its own HTTP API against ``scenebridge serve``: what a person using
Open WebUI gets, and how fast, with Open WebUI's code in the path (not a client of ours).

    .venv/bin/python bench/open_webui.py http://127.0.0.1:8200 [--repeat 5] [--scenebridge http://127.0.0.1:8100]
        [--token TOKEN | --email E --password P] [--timeout 120]

Open WebUI must be running with scenebridge as its OpenAI connection (docs/serving.md, "Open WebUI,
driven through its own API"); nothing is started here, and only loopback addresses are accepted.
Without ``--token`` a session token is asked of ``/api/v1/auths/signin`` (with ``WEBUI_AUTH=False``
any credentials get the single admin's token); if that fails, the calls go without one.

What it does, in order:

1. ``GET /api/models``: scenebridge's models (``scenebridge``, ``scenebridge:<scene>``) are listed;
   ``GET /api/v1/tasks/config``: which background tasks Open WebUI would run, and with which model.
2. ``POST /api/chat/completions``: four chat requests (three first questions and a follow-up turn on
   the first answer), each ``--repeat`` times sent whole and ``--repeat`` times streamed: time to the
   first content (the first chunk with text, what a person sees first; for a whole answer, the
   answer) and to the end, p50/p95. Checked: status 200, a numbered list of picks, the
   ``recommendations`` field carried through Open WebUI, the same picks whole and streamed, and
   the model the answer's footer names.
3. Open WebUI's background tasks (``POST /api/v1/tasks/{title,tags,follow_up,queries,emoji,auto}/
   completions``) on two of those conversations, ``--repeat`` times each: the answer is parsed as
   Open WebUI does (the text from the first ``{`` to the last ``}``) and checked against the task's
   format (``{"title": str}``, ``{"tags": [str]}``, ``{"follow_ups": [str]}``, ``{"queries": [str]}``,
   an emoji), and checked NOT to be a list of film recommendations. A task Open WebUI has turned
   off is reported as such.
4. Each follow-up suggestion scenebridge made is sent back as the next turn (what clicking it does):
   answered with picks, "Not X" leaves X out, "Something older" lowers the median year.

Prints Markdown: versions (Open WebUI, machine, scenebridge's /health with ``--scenebridge``), then
one table per step (what was sent, status, timings, what came back, in short, and the check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PICK_LINE = re.compile(r"^\s*\d+\.\s+\*\*(?P<title>.+?)\*\*\s*\((?P<year>\d{4})\)", re.M)
FOOTER = re.compile(r"_Ranked from (?P<n>\d+) candidates \((?P<model>[^)]*)\)\._")
FIRST = "I loved Groundhog Day and Annie Hall. Any sci-fi for me? Something thoughtful, not action-heavy."

# (name, model, first user message, what the picks must honour); a fourth request, a follow-up
# turn, is built from the first answer.
CHATS = [
    ("thoughtful sci-fi", "scenebridge", FIRST, {}),
    ("sci-fi model, two likes", "scenebridge:sci-fi", "I liked Clerks and Clueless", {}),
    ("comedy for a sci-fi fan", "scenebridge",
     "Big fan of Alien and Blade Runner. What comedies would I enjoy? Nothing from before 1980.", {"min_year": 1980}),
]
FOLLOW_UP = "something older, not Metropolis"
FOLLOW_UP_CHECKS = {"exclude": "Metropolis", "older": True}

# task path -> (extra body fields, the JSON key asked for, the value's type); emoji answers no JSON.
TASKS = {
    "title": ({}, "title", str),
    "tags": ({}, "tags", list),
    "follow_up": ({}, "follow_ups", list),
    "queries": ({"type": "web_search"}, "queries", list),
    "emoji": ({}, None, None),
    "auto": ({"type": "search query", "prompt": "I loved Groundhog"}, "text", str),
}
TASK_SWITCHES = {"title": "ENABLE_TITLE_GENERATION", "tags": "ENABLE_TAGS_GENERATION",
                 "follow_up": "ENABLE_FOLLOW_UP_GENERATION", "queries": "ENABLE_SEARCH_QUERY_GENERATION",
                 "auto": "ENABLE_AUTOCOMPLETE_GENERATION"}


def pct(values: list[float], q: float) -> str:
    """The q-th percentile in ms (linear between ranks, as numpy's default), or "-"."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.0f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1] * 1000:.0f}"


def short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass
class Answer:
    status: int | str
    first: float = 0.0
    total: float = 0.0
    text: str = ""
    body: dict = field(default_factory=dict)  # the whole answer, or the stream's last chunk with extras

    @property
    def picks(self) -> list[str]:
        return [f"{m.group('title')} ({m.group('year')})" for m in PICK_LINE.finditer(self.text)]

    @property
    def footer_model(self) -> str:
        match = FOOTER.search(self.text)
        return match.group("model") if match else ""


class OpenWebUI:
    def __init__(self, url: str, token: str | None, timeout: float):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def chat(self, model: str, messages: list[dict], *, stream: bool) -> Answer:
        body = {"model": model, "messages": messages, "stream": stream}
        started = time.perf_counter()
        try:
            if not stream:
                response = self.client.post("/api/chat/completions", json=body)
                total = time.perf_counter() - started
                if response.status_code != 200:
                    return Answer(response.status_code, total, total, response.text)
                data = response.json()
                text = data["choices"][0]["message"]["content"] or ""
                return Answer(200, total, total, text, data)
            first, parts, extras = 0.0, [], {}
            with self.client.stream("POST", "/api/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    total = time.perf_counter() - started
                    return Answer(response.status_code, total, total, response.text)
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    for choice in chunk.get("choices") or []:
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            first = first or time.perf_counter() - started
                            parts.append(content)
                    if "recommendations" in chunk or "understood" in chunk:
                        extras = chunk
            return Answer(200, first, time.perf_counter() - started, "".join(parts), extras)
        except httpx.HTTPError as exc:
            elapsed = time.perf_counter() - started
            return Answer(type(exc).__name__, elapsed, elapsed)

    def task(self, path: str, model: str, messages: list[dict], extra: dict) -> tuple[int | str, float, str, dict]:
        body = {"model": model, "messages": messages, "chat_id": "local:bench", **extra}
        if path == "emoji":
            body = {"model": model, "prompt": messages[0]["content"], "chat_id": "local:bench"}
        started = time.perf_counter()
        try:
            response = self.client.post(f"/api/v1/tasks/{path}/completions", json=body)
        except httpx.HTTPError as exc:
            return type(exc).__name__, time.perf_counter() - started, "", {}
        seconds = time.perf_counter() - started
        try:
            data = response.json()
        except ValueError:
            return response.status_code, seconds, response.text, {}
        if response.status_code == 200 and "choices" in data:
            return 200, seconds, data["choices"][0]["message"]["content"] or "", data
        return response.status_code, seconds, str(data.get("detail", data)), data


def honoured(answer: Answer, expect: dict) -> list[str]:
    """What the picks fail of what the request asked (years, a title left out, older than before)."""
    years = [int(p[-5:-1]) for p in answer.picks]
    notes = []
    if expect.get("min_year") and any(y < expect["min_year"] for y in years):
        notes.append(f"ASKED nothing before {expect['min_year']}, GOT "
                     + ", ".join(p for p in answer.picks if int(p[-5:-1]) < expect["min_year"]))
    if expect.get("exclude") and any(p.startswith(expect["exclude"] + " (") for p in answer.picks):
        notes.append(f"{expect['exclude']} still picked")
    if expect.get("older") and years and expect.get("before") and \
            statistics.median(years) >= statistics.median(expect["before"]):
        now, then = statistics.median(years), statistics.median(expect["before"])
        notes.append(f"median year {now:.0f}, not older than {then:.0f}")
    return notes


def sign_in(url: str, email: str, password: str, timeout: float) -> tuple[str | None, str]:
    try:
        response = httpx.post(f"{url}/api/v1/auths/signin", json={"email": email, "password": password},
                              timeout=timeout)
    except httpx.HTTPError as exc:
        return None, f"sign-in failed ({type(exc).__name__}): calls without a token"
    if response.status_code == 200 and response.json().get("token"):
        user = response.json()
        return user["token"], f"token from /api/v1/auths/signin ({user.get('email')}, role {user.get('role')})"
    return None, f"sign-in answered {response.status_code}: calls without a token"


def check_task(path: str, key: str | None, kind: type | None, content: str, data: dict) -> tuple[bool, str]:
    """(right, why): the task's format, as Open WebUI reads it, and no list of picks."""
    if PICK_LINE.search(content) or data.get("recommendations"):
        return False, "a list of recommendations, not the task's answer"
    if key is None:  # emoji: one short symbol, no words
        ok = 0 < len(content.strip()) <= 4 and not re.search(r"[A-Za-z]", content)
        return ok, "one emoji" if ok else "not a single emoji"
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end < start:
        return False, "no JSON object"
    try:
        value = json.loads(content[start:end + 1])
    except ValueError:
        return False, "JSON that does not parse"
    if key not in value or not isinstance(value[key], kind):
        return False, f"no {key!r} of type {kind.__name__}"
    item = value[key]
    if kind is list and not all(isinstance(v, str) and v.strip() for v in item):
        return False, f"{key!r} holds something other than non-empty strings"
    if path == "title" and not item.strip():
        return False, "an empty title"
    if path in ("tags", "follow_up") and not item:
        return False, f"no {key}"
    return True, f"JSON {key!r}"


def main(args) -> int:
    url = args.url.rstrip("/")
    token, how = (args.token, "token given") if args.token else sign_in(url, args.email, args.password, args.timeout)
    owui = OpenWebUI(url, token, args.timeout)
    version = owui.client.get("/api/version").json().get("version", "?")
    problems: list[str] = []

    print(f"Open WebUI {version} at {url} ({how}); machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, httpx {httpx.__version__}.")
    if args.scenebridge:
        try:
            health = httpx.get(f"{args.scenebridge.rstrip('/')}/health", timeout=10).json()
            store, server = health.get("store", {}), health.get("model_server", {})
            print(f"scenebridge at {args.scenebridge}: {health.get('status')}, store {store.get('dataset')} "
                  f"({store.get('source')} -> {store.get('target')}, {store.get('items')} items), model server "
                  f"{server.get('state')} {', '.join(server.get('models') or [])}, explanations "
                  f"{health.get('explanations')}.")
        except (httpx.HTTPError, ValueError) as exc:
            print(f"scenebridge at {args.scenebridge}: /health failed ({type(exc).__name__}).")
    print(f"Each request {args.repeat} times; times in ms from the request to the first content and to the end.\n")

    # 1. models and task settings
    print("### Models and task settings\n")
    print("| call | status | ms | what came back | check |\n|---|---:|---:|---|---|")
    started = time.perf_counter()
    response = owui.client.get("/api/models")
    ms = (time.perf_counter() - started) * 1000
    models = [m["id"] for m in response.json().get("data", [])] if response.status_code == 200 else []
    ours = [m for m in models if m == "scenebridge" or m.startswith("scenebridge:")]
    ok = "scenebridge" in ours and len(ours) > 1
    if not ok:
        problems.append(f"GET /api/models lists {models}: scenebridge's models missing")
    print(f"| GET /api/models | {response.status_code} | {ms:.0f} | {short(', '.join(models), 90)} | "
          f"{'ok' if ok else 'MISSING'}: {len(ours)} scenebridge models |")
    response = owui.client.get("/api/v1/tasks/config")
    config = response.json() if response.status_code == 200 else {}
    switches = ", ".join(f"{path} {'on' if config.get(name) else 'off'}" for path, name in TASK_SWITCHES.items())
    task_model = config.get("TASK_MODEL_EXTERNAL") or "the chat's own model"
    print(f"| GET /api/v1/tasks/config | {response.status_code} | - | {switches}; external task model: "
          f"{task_model} | - |\n")

    # 2. chat
    print("### Chat through POST /api/chat/completions\n")
    print("| request | model | mode | n | statuses | first content p50 / p95 | total p50 / p95 | picks (first 3) "
          "| footer model | check |\n|---|---|---|---:|---|---:|---:|---|---|---|")
    conversations: dict[str, tuple[str, list[dict]]] = {}
    chats = list(CHATS) + [("follow-up turn", "scenebridge", None, FOLLOW_UP_CHECKS)]
    for name, model, text, expect in chats:
        if text is None:
            if "thoughtful sci-fi" not in conversations:
                continue
            base = conversations["thoughtful sci-fi"][1]
            messages = base + [{"role": "user", "content": FOLLOW_UP}]
            name = f'"{FOLLOW_UP}" after the first'
            expect = {**expect, "before": [int(y) for _, y in PICK_LINE.findall(base[-1]["content"])]}
        else:
            messages = [{"role": "user", "content": text}]
        picks_by_mode: dict[str, list[str]] = {}
        for mode in ("whole", "streamed"):
            answers = [owui.chat(model, messages, stream=mode == "streamed") for _ in range(args.repeat)]
            good = [a for a in answers if a.status == 200]
            statuses = ", ".join(f"{s}×{sum(1 for a in answers if a.status == s)}"
                                 for s in dict.fromkeys(a.status for a in answers))
            last = good[-1] if good else answers[-1]
            picks_by_mode[mode] = last.picks
            footers = sorted({a.footer_model for a in good})
            notes = []
            if len(good) < len(answers):
                notes.append("FAILED requests")
            if not last.picks:
                notes.append("NO PICKS")
            if good and not all(a.body.get("recommendations") for a in good):
                notes.append("recommendations field lost")
            if len({tuple(a.picks) for a in good}) > 1:
                notes.append("picks differ between repetitions")
            if mode == "streamed" and picks_by_mode["whole"] != picks_by_mode["streamed"]:
                notes.append("picks differ from the whole answer")
            unknown = [n for n, a in enumerate(good, 1) if "unknown" in a.footer_model]
            if unknown:
                fields = sorted({str((a.body.get("recommendations") or {}).get("model")) for a in good})
                notes.append(f"footer names model 'unknown' in answer {', '.join(map(str, unknown))} of {len(good)} "
                             f"(recommendations.model: {' / '.join(fields)})")
            notes.extend(honoured(last, expect))
            for note in notes:
                problems.append(f"{name}, {mode}: {note}")
            print(f"| {short(name if text is None else text, 60)} | {model} | {mode} | {len(answers)} | {statuses} "
                  f"| {pct([a.first for a in good], 50)} / {pct([a.first for a in good], 95)} "
                  f"| {pct([a.total for a in good], 50)} / {pct([a.total for a in good], 95)} "
                  f"| {short('; '.join(last.picks[:3]), 80)} | {short(' / '.join(footers), 60)} "
                  f"| {'; '.join(notes) or 'ok'} |", flush=True)
            if mode == "whole" and good:
                conversations[name] = (model, messages + [{"role": "assistant", "content": good[-1].text}])
    for name, (_, messages) in list(conversations.items())[::3]:  # the first answer and the follow-up's
        print(f"\nLast whole answer to {short(name, 60)!r}:\n")
        print("\n".join(f"    {line}" for line in messages[-1]["content"].splitlines()))

    # 3. background tasks
    print("\n### Background tasks through POST /api/v1/tasks/*/completions\n")
    print("| conversation | task | n | statuses | p50 / p95 ms | answer | check |\n|---|---|---:|---|---:|---|---|")
    follow_ups: list[str] = []
    for name in ("thoughtful sci-fi", "sci-fi model, two likes"):
        if name not in conversations:
            continue
        model, messages = conversations[name]
        for path, (extra, key, kind) in TASKS.items():
            switch = TASK_SWITCHES.get(path)
            if switch and config and not config.get(switch):
                print(f"| {name} | {path} | 0 | - | - | off in Open WebUI ({switch}=False) | not run |")
                continue
            runs = [owui.task(path, model, messages, extra) for _ in range(args.repeat)]
            statuses = ", ".join(f"{s}×{sum(1 for r in runs if r[0] == s)}" for s in dict.fromkeys(r[0] for r in runs))
            status, _, content, data = runs[-1]
            if status == 200:
                ok, why = check_task(path, key, kind, content, data)
                if len({r[2] for r in runs}) > 1:
                    ok, why = False, why + "; answers differ between repetitions"
            else:
                ok, why = False, f"status {status}: {short(content, 60)}"
            if not ok:
                problems.append(f"task {path} on {name!r}: {why} ({short(content, 120)})")
            if path == "follow_up" and name == "thoughtful sci-fi" and ok:
                start, end = content.find("{"), content.rfind("}")
                follow_ups = json.loads(content[start:end + 1])["follow_ups"]
            print(f"| {name} | {path} | {len(runs)} | {statuses} | {pct([r[1] for r in runs if r[0] == 200], 50)} / "
                  f"{pct([r[1] for r in runs if r[0] == 200], 95)} | `{short(content, 90)}` "
                  f"| {'ok' if ok else 'WRONG'}: {why} |", flush=True)

    # 4. the follow-up suggestions, sent back
    if follow_ups:
        model, messages = conversations["thoughtful sci-fi"]
        before = conversations["thoughtful sci-fi"][1][-1]["content"]
        before_years = [int(m.group("year")) for m in PICK_LINE.finditer(before)]
        before_picks = [f"{m.group('title')} ({m.group('year')})" for m in PICK_LINE.finditer(before)]
        print("\n### The follow-up suggestions, sent back as the next turn (whole)\n")
        print("| suggestion | status | ms | picks | check |\n|---|---:|---:|---|---|")
        for suggestion in follow_ups:
            answer = owui.chat(model, messages + [{"role": "user", "content": suggestion}], stream=False)
            years = [int(m.group("year")) for m in PICK_LINE.finditer(answer.text)]
            notes = []
            if answer.status != 200 or not answer.picks:
                notes.append("NO PICKS")
            if suggestion.lower().startswith("not "):
                left_out = suggestion[4:].strip().lower()
                if any(p.lower().startswith(left_out) for p in answer.picks):
                    notes.append(f"{suggestion[4:]} still picked")
            if "older" in suggestion.lower() and years and before_years and \
                    statistics.median(years) >= statistics.median(before_years):
                now, then = statistics.median(years), statistics.median(before_years)
                notes.append(f"median year {now:.0f}, not older than {then:.0f}")
            if "more" in suggestion.lower() and set(answer.picks) & set(before_picks):
                notes.append("repeats picks of the last list")
            for note in notes:
                problems.append(f"follow-up {suggestion!r}: {note}")
            print(f"| {short(suggestion, 60)} | {answer.status} | {answer.total * 1000:.0f} "
                  f"| {short('; '.join(answer.picks), 100)} | {'; '.join(notes) or 'ok'} |", flush=True)

    print("\n### Problems\n")
    print("\n".join(f"- {p}" for p in problems) if problems else "None found.")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running Open WebUI, e.g. http://127.0.0.1:8200")
    parser.add_argument("--repeat", type=int, default=5, help="times each chat request and task is sent (default 5)")
    parser.add_argument("--scenebridge", help="scenebridge's own URL, to print its /health (optional)")
    parser.add_argument("--token", help="an Open WebUI token or API key (default: ask /api/v1/auths/signin)")
    parser.add_argument("--email", default="", help="sign-in e-mail (any, with WEBUI_AUTH=False)")
    parser.add_argument("--password", default="", help="sign-in password (any, with WEBUI_AUTH=False)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one request may take")
    arguments = parser.parse_args()
    for target in filter(None, (arguments.url, arguments.scenebridge)):
        if urlsplit(target).hostname not in LOOPBACK:
            sys.exit(f"the servers must be on this machine (127.0.0.1), not {target}")
    if arguments.repeat < 1:
        sys.exit("--repeat must be at least 1")
    sys.exit(main(arguments))
