"""Rankers behind one contract (``Ranker.rank(RankingRequest) -> Ranking``), made by name."""

from agent.fusion import FusionWeights
from agent.llm import LLMBackend
from agent.rankers.base import OrderDesign, OutputErrors, PromptInfo, PromptItem, Ranker, Ranking, RankingRequest
from agent.rankers.baselines import SCORE_BASELINES, RandomRanker, ScoreRanker
from agent.rankers.hybrid import HybridRanker
from agent.rankers.listwise import ListwiseConfig, ListwiseRanker
from agent.rankers.rerank import RerankConfig, RerankRanker
from agent.rankers.verbalizer import VerbalizerConfig, VerbalizerRanker
from core.errors import NotFoundError

LLM_RANKERS = ("rerank", "verbalizer", "listwise", "hybrid")
# Rankers whose prompt states each candidate's collaborative evidence (Recommender attaches it).
SUPPORTED_RANKERS = ("rerank",)
BASELINE_RANKERS = ("random", *SCORE_BASELINES)
RANKERS = (*LLM_RANKERS, *BASELINE_RANKERS)
BACKBONE_RANKERS = ("backbone", "ease", "ials")
# What a person may ask a front-end for: the backbones and the LLM rankers (baselines are for
# evaluations).
SERVING_RANKERS = (*BACKBONE_RANKERS, *LLM_RANKERS)


def make_ranker(name: str, llm: LLMBackend | None, *, permutations: int = 1, seed: int = 0,
                orders: OrderDesign = "balanced", weights: FusionWeights | None = None,
                template: str | None = None, prior_weight: float = 0.0) -> Ranker:
    if name == "random":
        return RandomRanker(seed)
    if name in SCORE_BASELINES:
        return ScoreRanker(name)
    if name in LLM_RANKERS and llm is None:
        raise NotFoundError("model server", "none", hint=f"the {name} ranker needs an LLM: pass --llm-url "
                            "or let scenebridge start the local one")
    if name == "rerank":
        return RerankRanker(llm, RerankConfig(permutations=permutations, seed=seed, template=template or "rerank",
                                              prior_weight=prior_weight))
    if name == "verbalizer":
        return VerbalizerRanker(llm, VerbalizerConfig(permutations=permutations, seed=seed, orders=orders,
                                                      template=template or "verbalizer"))
    if name == "listwise":
        return ListwiseRanker(llm, ListwiseConfig(permutations=permutations, seed=seed, orders=orders,
                                                  template=template or "listwise"))
    if name == "hybrid":
        inner = make_ranker("verbalizer", llm, permutations=permutations, seed=seed, orders=orders,
                            template=template)
        return HybridRanker(inner, weights)
    raise NotFoundError("ranker", name, hint=f"choose one of: {', '.join(RANKERS)}")


__all__ = [
    "BACKBONE_RANKERS",
    "BASELINE_RANKERS",
    "SERVING_RANKERS",
    "LLM_RANKERS",
    "RANKERS",
    "SUPPORTED_RANKERS",
    "RerankRanker",
    "HybridRanker",
    "ListwiseRanker",
    "OutputErrors",
    "PromptInfo",
    "PromptItem",
    "Ranker",
    "Ranking",
    "RankingRequest",
    "VerbalizerRanker",
    "make_ranker",
]
