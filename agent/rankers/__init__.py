"""Rankers behind one contract (``Ranker.rank(RankingRequest) -> Ranking``), made by name."""

from agent.fusion import FusionWeights
from agent.llm import LLMBackend
from agent.rankers.base import OutputErrors, PromptInfo, PromptItem, Ranker, Ranking, RankingRequest
from agent.rankers.hybrid import HybridRanker
from agent.rankers.listwise import ListwiseConfig, ListwiseRanker
from agent.rankers.verbalizer import VerbalizerConfig, VerbalizerRanker
from scenebridge.errors import NotFoundError

LLM_RANKERS = ("verbalizer", "listwise", "hybrid")


def make_ranker(name: str, llm: LLMBackend, *, permutations: int = 1, seed: int = 0,
                weights: FusionWeights | None = None, template: str | None = None) -> Ranker:
    if name == "verbalizer":
        return VerbalizerRanker(llm, VerbalizerConfig(permutations=permutations, seed=seed,
                                                      template=template or "verbalizer"))
    if name == "listwise":
        return ListwiseRanker(llm, ListwiseConfig(permutations=permutations, seed=seed,
                                                  template=template or "listwise"))
    if name == "hybrid":
        inner = make_ranker("verbalizer", llm, permutations=permutations, seed=seed, template=template)
        return HybridRanker(inner, weights)
    raise NotFoundError("ranker", name, hint=f"choose one of: {', '.join(LLM_RANKERS)}")


__all__ = [
    "LLM_RANKERS",
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
