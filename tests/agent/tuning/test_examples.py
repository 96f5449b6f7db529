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


@pytest.fixture(scope="module")
def rerank_examples(service, data, users):
    from agent.selection import ensure_backbone
    from agent.tuning.examples import build_rerank_examples

    ensure_backbone(data, "Comedy", "Sci-Fi")
    return build_rerank_examples(service, data, users[:15], source="Comedy", target="Sci-Fi", points=3, seed=1,
                                 progress=False)


def test_rerank_examples_are_the_backbones_head_in_its_order_leakage_free(rerank_examples, data):
    from agent.candidates import make_generator, user_evidence
    from agent.candidates.evidence import resolve

    assert rerank_examples and {e.kind for e in rerank_examples} == {"warm", "cold"}
    backbone = make_generator("backbone")
    for example in rerank_examples[:12]:
        history = [e.item_id for e in data.history(example.user, "Sci-Fi")]
        t = history.index(example.held_out)
        assert t >= len(history) - 3  # one of the last 3 points
        shown = example.prompt.split("recently watched:")[1].split("Candidates")[0] if example.kind == "warm" else ""
        later = [i for i in history[t:]]
        assert not any(f"- {i}" in shown for i in later)  # the held-out and later items are not history
        assert example.kind == "warm" or "has not watched any Sci-Fi" in example.prompt
        # The candidates are the backbone's 20 best unseen items for that point, in its order.
        evidence = user_evidence(data, example.user, source="Comedy", target="Sci-Fi", cold=example.kind == "cold")
        evidence = evidence.model_copy(update={"target_history": () if example.kind == "cold" else tuple(history[:t])})
        scores = backbone.score(data, resolve(data, evidence))
        scene = data.scene("Sci-Fi")
        scores[[scene.item_index[i] for i in history if i != example.held_out]] = -float("inf")
        assert example.candidates == [str(scene.items[c]) for c in (-scores).argsort(kind="stable")[:20]]
        assert example.candidates[example.answer] == example.held_out
        assert f"\n{LABELS[example.answer]}. " in example.prompt and "| rank 1 |" in example.prompt


def test_rotated_orders_move_the_answer_off_the_backbones_place(service, data, users):
    from agent.tuning.examples import build_rerank_examples

    kept = build_rerank_examples(service, data, users[:15], source="Comedy", target="Sci-Fi", points=3, seed=1,
                                 progress=False)
    rotated = build_rerank_examples(service, data, users[:15], source="Comedy", target="Sci-Fi", points=3, seed=1,
                                    order="rotated", progress=False)
    assert {(e.user, e.held_out, e.kind) for e in kept} == {(e.user, e.held_out, e.kind) for e in rotated}
    assert sum(e.answer for e in rotated) != sum(e.answer for e in kept)
    for example in rotated:
        assert example.candidates[example.answer] == example.held_out
