"""Run an evaluation: the protocol's cases, one ranker, one JSONL row per user, resumable.

A run directory holds ``config.json`` (the resolved config), ``rows.jsonl`` (one line per user,
appended as each finishes, so an interrupted run resumes where it stopped), then ``metrics.json``
and ``report.md`` with plots (evals/report.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

from tqdm import tqdm

from agent.candidates import load_scene_data
from agent.cases import Case, active_users, build_cases, rank_metrics, true_item_position, users_in
from agent.rankers import LLM_RANKERS, SUPPORTED_RANKERS, make_ranker
from agent.requests import RecommendRequest
from agent.selection import ensure_backbone
from agent.service import Service, open_service
from agent.tuning.split import check_disjoint
from core.errors import ScenebridgeError
from core.settings import get_settings
from evals.config import RunConfig
from evals.rows import EvalRow, ExplainedUser, Timings, parse_row, read_explained
from evals.run_metrics import RunMetrics


def prepare_run_dir(out: Path, config: RunConfig) -> set[str]:
    """Create ``out`` or check it belongs to the same config; return the users already done."""
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "config.json"
    if config_path.exists():
        previous = json.loads(config_path.read_text())
        if RunConfig.from_run_dir(previous).identity() != config.identity():
            raise ScenebridgeError(f"{out} holds a run with another configuration", param="out",
                                   hint="choose another --out, or delete the old run")
    else:
        config_path.write_text(config.model_dump_json(indent=2))
    rows = out / "rows.jsonl"
    if not rows.exists():
        return set()
    kept, done = [], set()
    for line in rows.read_text().splitlines():
        row = parse_row(line)
        if row is None:
            break  # a line cut by an interruption: it and anything after it are redone
        done.add(row.user)
        kept.append(line)  # as written, so an old run's rows stay byte for byte
    rows.write_text("".join(f"{line}\n" for line in kept))
    return done


async def evaluate_case(service: Service, data, case: Case, config: RunConfig) -> EvalRow:
    started = time.perf_counter()
    evidence = case.evidence
    if not config.transfer:  # the ablation: nothing from the source scene reaches any score...
        case = dataclasses.replace(case, evidence=evidence.model_copy(update={"source_items": ()}))
    request = service.case_request(data, case, support=config.ranker in SUPPORTED_RANKERS)
    if not config.transfer:  # ...nor the prompt
        request = request.model_copy(update={"evidence": []})
    ranker = make_ranker(config.ranker, service.llm, permutations=config.permutations, seed=config.seed,
                         orders=config.orders, weights=service.weights, template=config.prompt,
                         prior_weight=config.prior_weight)
    ranking = await ranker.rank(request)
    position = true_item_position(ranking.scores, case.held_out)
    return EvalRow(
        user=case.user_id,
        held_out=case.held_out,
        candidates=list(case.order),
        true_position=case.order.index(case.held_out) if case.held_out in case.order else None,
        ranking=ranking.item_ids,
        scores={k: round(v, 6) for k, v in ranking.scores.items()},
        metrics=rank_metrics(*(position if position else (None,))),
        fallback=ranking.fallback,
        errors=ranking.errors,
        prompt=ranking.prompt,
        source_history=len(evidence.source_items),
        target_history=len(evidence.target_history),
        timings=Timings(total=round(time.perf_counter() - started, 4), model=round(ranking.llm_seconds, 4)),
        backbone_position=backbone_position(request.generator_scores.get("backbone", {}), case.held_out),
        positions=ranking.positions,
    )


def backbone_position(scores: dict[str, float], held_out: str) -> int | None:
    """The held-out item's 1-based place under the backbone's scores (ties: the middle of them)."""
    position = true_item_position(scores, held_out)
    return None if position is None else 1 + position[0] + position[1] // 2


def add_wall_time(out: Path, seconds: float) -> float:
    """Wall time of the run, summed over the sessions that resumed it (wall_seconds.txt)."""
    path = out / "wall_seconds.txt"
    total = (float(path.read_text()) if path.exists() else 0.0) + seconds
    path.write_text(f"{total:.1f}\n")
    return total


async def run(config: RunConfig, out: Path, *, progress: bool = True) -> Path:
    started = time.perf_counter()
    done = prepare_run_dir(out, config)
    store = config.store or get_settings().store_path
    needs_llm = config.ranker in LLM_RANKERS
    async with open_service(store, dataset=config.dataset, llm_url=config.llm_url, use_llm=needs_llm,
                            model=config.model, fusion=config.fusion) as service:
        data = load_scene_data(service.retriever)
        for scene in (config.source, config.target):
            service.retriever.check_scene(scene)
        ensure_backbone(data, config.source, config.target, progress=progress)  # chosen on validation users
        pool = users_in(active_users(data, config.source, config.target), config.split)
        cases = build_cases(data, config.protocol, source=config.source, target=config.target, users=config.users,
                            seed=config.seed, negatives=config.n_negatives, sampling=config.negatives, pool=pool,
                            retrieved=config.retrieved, retrieve_with=service.weights.weights)
        check_disjoint(config.model, config.dataset, (c.user_id for c in cases), validation=config.split == "test")
        todo = [c for c in cases if c.user_id not in done]
        limit = asyncio.Semaphore(config.concurrency)
        with (out / "rows.jsonl").open("a") as rows, tqdm(total=len(cases), initial=len(cases) - len(todo),
                                                          desc=f"{config.ranker} {config.protocol}", unit="user",
                                                          disable=not progress) as bar:
            async def one(case: Case) -> None:
                async with limit:
                    row = await evaluate_case(service, data, case, config)
                rows.write(row.line())
                rows.flush()
                bar.update(1)

            await asyncio.gather(*(one(c) for c in todo))
        if config.explain_users:
            await explain_cases(service, cases[: config.explain_users], config, out, progress=progress)
        from evals.report import write_report

        add_wall_time(out, time.perf_counter() - started)
        write_report(out, config, service.retriever, data)
    return out


async def explain_cases(service: Service, cases: list[Case], config: RunConfig, out: Path, *,
                        progress: bool) -> None:
    """Explain each case's top 3 and check them (explanations.jsonl; resumable like rows)."""
    from agent.llm.server import served_models
    from evals.explanations import RagasJudge, check, evidence_named, facts_text

    path = out / "explanations.jsonl"
    done = {explained.user for explained in read_explained(path)}
    judge = None
    judge_url = config.judge_url or (service.llm.config.base_url if service.llm else None)
    if judge_url:
        judge = RagasJudge(judge_url, config.judge_model or served_models(judge_url)[0])
    vocabulary = sorted({g for i in service.retriever.catalogue() for g in i.genres})
    with path.open("a") as handle:
        for case in tqdm(cases, desc="explaining", unit="user", disable=not progress):
            if case.user_id in done:
                continue
            # The store holds the held-out item in the person's history: withheld, as from the ranking.
            result = await service.recommend(RecommendRequest(
                user_id=case.user_id, target_scene=config.target, source_scene=config.source,
                candidates=list(case.order), k=3, explain=True, withhold=[case.held_out],
                ranker=config.ranker if service.llm or config.ranker not in LLM_RANKERS else "popularity"))
            # What the person had (source items and target history): what an explanation may cite.
            history = {i.item_id for i in case.evidence.source_items} | set(case.evidence.target_history)
            checks = []
            for rec in result.items:
                item, *evidence = service.retriever.items([rec.item_id, *rec.evidence])
                verdict = check(item, rec.explanation or "", evidence, history, vocabulary, rec.explanation_source)
                if rec.explanation:
                    verdict.evidence_named = await evidence_named(rec.explanation, [e.title for e in evidence])
                if judge is not None and rec.explanation:
                    question = (f"Why would someone who enjoyed {', '.join(e.title for e in evidence) or 'these films'} "
                                f"like {item.title}?")
                    await judge.score(verdict, question, [facts_text(i) for i in (item, *evidence)])
                checks.append(verdict)
            handle.write(ExplainedUser(user=case.user_id, judge=judge.model if judge else None,
                                       checks=checks).line())
            handle.flush()


async def rewrite_report(out: Path) -> RunMetrics:
    """Recompute metrics.json and report.md from a run's rows (after a metrics change, say)."""
    from evals.report import write_report

    config = RunConfig.from_run_dir(json.loads((out / "config.json").read_text()))
    store = config.store or get_settings().store_path
    async with open_service(store, dataset=config.dataset, use_llm=False) as service:
        return write_report(out, config, service.retriever, load_scene_data(service.retriever))
