"""The model's wording against the evidence sentence: the same evidence, the same checks, the cost.

For each of ``users`` seeded users of a split, the recommender's top ``k`` (the store's default
ranker, no explanations) and each item's evidence prepared once (agent/explain/evidence.py), then
both wordings of it: the evidence sentence, and the model's (``Explainer.word``: one call under the
JSON schema, the answer's ``k`` calls at once as an answer makes them). Each is checked
(agent/explain/checks.py) and timed; a model answer that is no sentence at all (not the JSON
asked for, only titles) fails with its error. The winner decides ``--explanations``' default.

A run directory like the evaluation's: ``config.json``, ``rows.jsonl`` (one user per line,
appended and flushed, so an interrupted run resumes), ``summary.json`` and ``report.md``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from agent.candidates import load_scene_data
from agent.cases import active_users, users_in
from agent.explain import Explainer, ItemEvidence, check_explanation, evidence_sentence
from agent.llm import LLMError
from agent.requests import RecommendRequest
from agent.service import Service, open_service
from core.errors import ScenebridgeError
from core.settings import get_settings
from core.titles import shown_title
from evals.explanations import RagasJudge, evidence_facts


class SourcesConfig(BaseModel):
    dataset: str = "ml-1m"
    source: str = "Comedy"
    target: str = "Sci-Fi"
    users: int = Field(default=30, ge=1)
    k: int = Field(default=5, ge=1, le=20)
    split: Literal["validation", "test"] = "validation"
    seed: int = 0
    llm_url: str | None = None
    store: Path | None = None
    judge_url: str | None = None  # ragas Faithfulness / AnswerRelevancy of both wordings; None: not judged
    judge_model: str | None = None


class Wording(BaseModel):
    text: str | None  # None: the model gave no sentence (``error`` says why)
    cites: list[str] = []
    passed: bool
    problems: list[str] = []
    error: str | None = None
    seconds: float
    # ragas, through --judge-url (Faithfulness against the evidence's facts: evidence_facts)
    faithfulness: float | None = None
    answer_relevancy: float | None = None
    judge_errors: dict[str, str] = {}


class ItemRow(BaseModel):
    item_id: str
    rank: int
    evidence: Wording
    llm: Wording


class UserRow(BaseModel):
    user: str
    prepare_seconds: float  # the answer's evidence (attributions, counts): shared by both wordings
    evidence_answer_seconds: float  # every evidence sentence of the answer, written and checked
    llm_answer_seconds: float  # the answer's model calls, made at once
    items: list[ItemRow]


def _checked(text: str, cites: list[str], evidence: ItemEvidence, history: set[str], seconds: float) -> Wording:
    verdict = check_explanation(text, cites, evidence, history)
    return Wording(text=text, cites=cites, passed=verdict.passed, problems=verdict.problems, seconds=round(seconds, 4))


async def _worded(explainer: Explainer, evidence: ItemEvidence, history: set[str]) -> Wording:
    started = time.perf_counter()
    try:
        worded = await explainer.word(evidence)
    except LLMError as exc:
        return Wording(text=None, passed=False, error=f"{type(exc).__name__}: {exc.message}",
                       seconds=round(time.perf_counter() - started, 4))
    return _checked(worded.sentence, worded.cites, evidence, history, time.perf_counter() - started)


async def _judged(judge: RagasJudge, wording: Wording, evidence: ItemEvidence) -> None:
    if wording.text is None:
        return
    people = ", ".join(shown_title(c.item) for c in evidence.contributors) or "these films"
    question = f"Why would someone who enjoyed {people} like {shown_title(evidence.item)}?"
    scores, errors = await judge.judge(wording.text, question, evidence_facts(evidence))
    wording.faithfulness, wording.answer_relevancy = scores.get("faithfulness"), scores.get("answer_relevancy")
    wording.judge_errors = errors


async def compare_user(service: Service, data, user: str, config: SourcesConfig,
                       judge: RagasJudge | None = None) -> UserRow:
    recommender = service.recommender
    request = RecommendRequest(user_id=user, source_scene=config.source, target_scene=config.target,
                               k=config.k, explain=False)
    answer = await service.recommend(request)
    top = [i.item_id for i in answer.items]
    started = time.perf_counter()
    evidence, source_history, target_history = recommender.evidence(request, config.source, config.target)
    history = source_history + target_history
    items = {i.item_id: i for i in service.retriever.items(top)}
    prepared = await asyncio.to_thread(recommender.answer_evidence, data, evidence, top, items, history)
    prepare_seconds = time.perf_counter() - started
    ids = {e.item_id for e in history}

    started = time.perf_counter()
    written = []
    for item_id in top:
        clock = time.perf_counter()
        written.append(_checked(evidence_sentence(prepared[item_id]), prepared[item_id].cited, prepared[item_id],
                                ids, time.perf_counter() - clock))
    evidence_seconds = time.perf_counter() - started

    started = time.perf_counter()
    explainer = Explainer(service.llm)
    worded = await asyncio.gather(*(_worded(explainer, prepared[i], ids) for i in top))
    llm_seconds = time.perf_counter() - started
    if judge is not None:  # after the timings: the judge's time is no explanation's
        for item_id, pair in zip(top, zip(written, worded, strict=True), strict=True):
            for wording in pair:
                await _judged(judge, wording, prepared[item_id])
    return UserRow(user=user, prepare_seconds=round(prepare_seconds, 4),
                   evidence_answer_seconds=round(evidence_seconds, 4),
                   llm_answer_seconds=round(llm_seconds, 4),
                   items=[ItemRow(item_id=i, rank=n, evidence=e, llm=w)
                          for n, (i, e, w) in enumerate(zip(top, written, worded, strict=True), start=1)])


def read_rows(path: Path) -> list[UserRow]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(UserRow.model_validate_json(line))
            except ValueError:
                break  # a line cut by an interruption: redone
    return rows


async def run_sources(config: SourcesConfig, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    stored = out / "config.json"
    if stored.exists() and SourcesConfig.model_validate_json(stored.read_text()) != config:
        raise ScenebridgeError(f"{out} holds a run with another configuration", param="out",
                               hint="choose another --out, or delete the old run")
    stored.write_text(config.model_dump_json(indent=2))
    settings = get_settings()
    llm_url = config.llm_url or settings.local_llm_url
    rows_path = out / "rows.jsonl"
    rows = read_rows(rows_path)
    rows_path.write_text("".join(r.model_dump_json() + "\n" for r in rows))
    judge = None
    if config.judge_url:
        from agent.llm.server import served_models

        judge = RagasJudge(config.judge_url, config.judge_model or served_models(config.judge_url)[0])
    async with open_service(config.store or settings.store_path, dataset=config.dataset, llm_url=llm_url) as service:
        data = load_scene_data(service.retriever)
        pool = sorted(users_in(active_users(data, config.source, config.target), config.split))
        chosen = sorted(np.random.default_rng(config.seed).choice(pool, size=min(config.users, len(pool)),
                                                                  replace=False).tolist())
        done = {r.user for r in rows}
        with rows_path.open("a") as handle:
            for user in chosen:
                if user in done:
                    continue
                row = await compare_user(service, data, user, config, judge)
                handle.write(row.model_dump_json() + "\n")
                handle.flush()
                rows.append(row)
        model = service.llm.model if service.llm else None
    summary = summarize(rows, model=model, llm_url=llm_url, judge=judge.model if judge else None)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "report.md").write_text(report(summary, config))
    return summary


def _seconds(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "mean": None}
    return {"p50": round(float(np.percentile(values, 50)), 4), "p95": round(float(np.percentile(values, 95)), 4),
            "mean": round(float(np.mean(values)), 4)}


def summarize(rows: list[UserRow], *, model: str | None, llm_url: str | None, judge: str | None = None) -> dict:
    items = [i for r in rows for i in r.items]

    def source(name: str, answer: list[float]) -> dict:
        wordings = [getattr(i, name) for i in items]
        return {
            "explanations": len(wordings),
            "passed": sum(w.passed for w in wordings),
            "pass_rate": round(sum(w.passed for w in wordings) / len(wordings), 4) if wordings else None,
            "no_sentence": sum(w.text is None for w in wordings),
            "failed_checks": sum(w.text is not None and not w.passed for w in wordings),
            "answers_all_distinct": sum(len({getattr(i, name).text for i in r.items}) == len(r.items) for r in rows),
            "seconds_per_explanation": _seconds([w.seconds for w in wordings]),
            "seconds_per_answer": _seconds(answer),
            "errors": dict(Counter(w.error.split(":")[0] for w in wordings if w.error)),
            "problems": dict(Counter(_kind(p) for w in wordings for p in w.problems)),
            "ragas": {metric: _judged_mean(wordings, metric) for metric in ("faithfulness", "answer_relevancy")},
        }

    return {
        "users": len(rows), "model": model, "llm_url": llm_url, "judge": judge,
        "prepare_seconds_per_answer": _seconds([r.prepare_seconds for r in rows]),
        "evidence": source("evidence", [r.evidence_answer_seconds for r in rows]),
        "llm": source("llm", [r.llm_answer_seconds for r in rows]),
    }


def _judged_mean(wordings: list[Wording], metric: str) -> dict:
    """The mean score of the wordings the judge scored, how many, and why the others have none."""
    values = [getattr(w, metric) for w in wordings if getattr(w, metric) is not None]
    return {"mean": round(float(np.mean(values)), 4) if values else None, "scored": len(values),
            "not_scored": dict(Counter(w.judge_errors[metric] for w in wordings if metric in w.judge_errors))}


def _kind(problem: str) -> str:
    """A countable kind of problem (the checks' wording: "cites", "states" a number, "says" a fact or
    a rating, "does not name" the item, "names none" of the reasons)."""
    if problem.startswith("says you rated"):
        return "a rating"
    return {"cites": "a citation", "states": "a number", "says": "a year or genre", "does": "the item unnamed",
            "names": "no reason named"}.get(problem.split()[0], "other")


def report(summary: dict, config: SourcesConfig) -> str:
    lines = [f"# Explanations: model wording vs the evidence sentence ({summary['users']} {config.split} users x "
             f"top {config.k}, {config.dataset} {config.source} -> {config.target})", "",
             f"Model: {summary['model']} at {summary['llm_url']}. Evidence per answer (shared): "
             f"p50 {summary['prepare_seconds_per_answer']['p50']} s.", "",
             "| wording | passed the checks | no sentence | failed checks | answers with all items distinct | "
             "s per explanation p50 / p95 | s per answer p50 / p95 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in ("evidence", "llm"):
        s = summary[name]
        per, answer = s["seconds_per_explanation"], s["seconds_per_answer"]
        lines.append(f"| {name} | {s['passed']} / {s['explanations']} | {s['no_sentence']} | {s['failed_checks']} | "
                     f"{s['answers_all_distinct']} / {summary['users']} | {per['p50']} / {per['p95']} | "
                     f"{answer['p50']} / {answer['p95']} |")
    lines += ["", f"Model errors: {summary['llm']['errors'] or 'none'}; false claims in the model's sentences: "
              f"{summary['llm']['problems'] or 'none'}; in the evidence sentences: {summary['evidence']['problems'] or 'none'}."]
    if summary.get("judge"):
        lines += ["", f"ragas, judged by {summary['judge']} (Faithfulness against the evidence's facts):", "",
                  "| wording | Faithfulness mean (scored) | AnswerRelevancy mean (scored) | not scored |",
                  "|---|---:|---:|---|"]
        for name in ("evidence", "llm"):
            ragas = summary[name]["ragas"]
            faith, relevancy = ragas["faithfulness"], ragas["answer_relevancy"]
            missing = {**faith["not_scored"], **{f"relevancy: {k}": v for k, v in relevancy["not_scored"].items()}}
            lines.append(f"| {name} | {faith['mean']} ({faith['scored']}) | {relevancy['mean']} ({relevancy['scored']}) "
                         f"| {missing or 'none'} |")
    return "\n".join(lines) + "\n"
