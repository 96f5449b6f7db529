"""Training examples: the verbalizer's own prompt, the answer at a uniform label, the kinds."""

from collections import Counter

import pytest

from agent.cases import active_users
from agent.fusion import FusionWeights
from agent.rankers.verbalizer import LABELS
from agent.service import Service
from agent.tuning.examples import build_examples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(retriever):
    return Service(retriever, None, FusionWeights())


@pytest.fixture(scope="module")
def users(data):
    return active_users(data, "Comedy", "Sci-Fi")[:40]


@pytest.fixture(scope="module")
def examples(service, data, users):
    return build_examples(service, data, users, source="Comedy", target="Sci-Fi", seed=3, progress=False)


def test_one_example_per_user_and_kind(examples, users):
    assert Counter(e.kind for e in examples) == {"warm": 40, "cold": 40, "source": 40}
    assert {e.user for e in examples} == set(users)


def test_the_answer_label_names_the_held_out_item(examples):
    for example in examples:
        assert example.candidates[example.answer] == example.held_out
        assert len(set(example.candidates)) == len(example.candidates) == 20
        assert f"\n{LABELS[example.answer]}. " in example.prompt
        assert example.prompt.rstrip().endswith("Answer:")


def test_answer_positions_are_spread_over_the_labels(examples):
    positions = Counter(e.answer for e in examples)
    assert len(positions) >= 15  # 120 uniform draws over 20 labels: a fixed slot would show
    assert max(positions.values()) <= 20


def test_kinds_show_what_they_promise(examples, data):
    for example in examples:
        if example.kind == "source":
            assert example.scene == "Comedy"
            assert "The user has not told us anything about Sci-Fi" in example.prompt
        else:
            assert example.scene == "Sci-Fi" and "In Comedy, the user rated" in example.prompt
        if example.kind == "cold":
            assert "The user has not watched any Sci-Fi yet" in example.prompt
        if example.kind == "warm":
            assert "In Sci-Fi, the user recently watched" in example.prompt


def test_seeded_and_fresh_per_seed(service, data, users, examples):
    again = build_examples(service, data, users, source="Comedy", target="Sci-Fi", seed=3, progress=False)
    assert [e.prompt for e in again] == [e.prompt for e in examples]
    other = build_examples(service, data, users[:10], source="Comedy", target="Sci-Fi", seed=4,
                           kinds=["warm"], negatives="popular", progress=False)
    assert len(other) == 10 and {e.kind for e in other} == {"warm"}
