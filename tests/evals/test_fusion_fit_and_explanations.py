"""Fusion fitting on validation users and the explanation checks, on the ML-100k store."""

import asyncio

import pytest

from agent.fusion import LLM, FusionWeights
from agent.service import Service
from evals.explanations import check, stated_facts
from evals.fusion_fit import fit
from evals.splits import split_of
from scenebridge.domain import Item
from tests.agent.fake_llm import FakeLLM, prefers


@pytest.mark.slow
def test_fit_uses_validation_users_and_a_blind_llm_gets_no_weight(retriever):
    service = Service(retriever, FakeLLM(prefers({})), FusionWeights())  # an LLM with no opinion
    weights = asyncio.run(fit(service, users=30, seed=0, progress=False))
    assert weights.fitted and weights.fitted_on["split"] == "validation"
    assert weights.fitted_on["users"] == 30 and weights.fitted_on["llm_answered"] == 30
    assert weights.weights[LLM] == 0.0  # uniform label probabilities carry no signal
    assert weights.fitted_on["ndcg@10"] >= weights.fitted_on["ndcg@10_default_weights"]
    assert weights.fitted_on["ndcg@10_alone"][LLM] == pytest.approx(0.2268, abs=1e-3)


def test_validation_users_are_not_test_users():
    assert split_of("100k_1") in ("train", "validation", "test")
    users = [f"100k_{n}" for n in range(1, 944)]
    assert {split_of(u) for u in users} == {"train", "validation", "test"}


ALIEN = Item(item_id="Alien (1979)", title="Alien", year=1979, genres=("Horror", "Sci-Fi"))
HELP = Item(item_id="Help! (1965)", title="Help!", year=1965, genres=("Comedy", "Musical"))
VOCABULARY = ["Comedy", "Horror", "Musical", "Sci-Fi", "Western"]


def test_stated_facts_are_found():
    assert stated_facts("A 1979 horror classic, no western", VOCABULARY) == ({1979}, {"Horror", "Western"})


def test_explanation_checks():
    good = check(ALIEN, "Like Help! (1965), Alien (1979) mixes horror and fun.", [HELP], {"Help! (1965)"},
                 VOCABULARY, "llm")
    assert good.citations_valid and good.facts_valid
    invented = check(ALIEN, "A 1984 western.", [HELP], {"Help! (1965)"}, VOCABULARY, "llm")
    assert not invented.facts_valid and set(invented.unsupported) == {"1984", "Western"}
    outside = check(ALIEN, "Because of Help!.", [HELP], {"Something Else (1990)"}, VOCABULARY, "llm")
    assert not outside.citations_valid
