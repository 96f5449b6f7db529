"""The evidence of an answer's items (agent/explain/evidence.py) on real ML-100k histories
(``scene_data``: the store's records without the store), with EASE's real attributions: the
counts against an independent count with pandas, the person's own row never counted, their
ratings, and the leads varied across one answer."""

from __future__ import annotations

import pytest

from agent.candidates import Attribution, Contribution, UserEvidence, attribute, generate_candidates, user_evidence
from agent.explain import LOVED, answer_evidence

SOURCE, TARGET = "Comedy", "Sci-Fi"


@pytest.fixture(scope="module")
def ratings(ml100k, ml100k_split):
    """(user, item) -> rating, for the items of both scenes: what the counts are checked against."""
    frame = ml100k_split.interactions(ml100k)
    return frame.set_index(["user_id", "item_id"])["rating"]


@pytest.fixture(scope="module")
def user(scene_data) -> str:
    """A user with many comedies and some sci-fi (deterministic: the first such id)."""
    counts = {s: scene_data.scene(s).matrix.getnnz(axis=1) for s in (SOURCE, TARGET)}
    rows = [r for r in range(len(scene_data.users)) if counts[SOURCE][r] >= 20 and counts[TARGET][r] >= 5]
    return str(scene_data.users[min(rows)])


def loved_by(ratings, item_id: str, *, besides: str | None) -> set[str]:
    rated = ratings.xs(item_id, level="item_id")
    return set(rated[rated >= LOVED].index) - {besides}


def raters_of(ratings, item_id: str, *, besides: str | None) -> set[str]:
    return set(ratings.xs(item_id, level="item_id").index) - {besides}


def history_ratings(scene_data, user: str) -> dict[str, float | None]:
    return {e.item_id: e.rating for s in (SOURCE, TARGET) for e in scene_data.history(user, s)}


def test_the_counts_are_the_other_peoples(scene_data, catalogue, ratings, user):
    evidence = user_evidence(scene_data, user, source=SOURCE, target=TARGET)
    top = generate_candidates(scene_data, evidence, generators=["ease"], limit=5).item_ids
    why = attribute(scene_data, evidence, top, generator="ease")
    answer = answer_evidence(scene_data, evidence, top, why, catalogue, history_ratings(scene_data, user))
    assert list(answer) == top
    mine = history_ratings(scene_data, user)
    for place, item_id in enumerate(top):
        found = answer[item_id]
        assert found.item == catalogue[item_id] and found.place == place and found.top_rating == 5.0
        assert [c.item.item_id for c in found.contributors] == [c.item_id for c in why[item_id].contributions]
        assert found.raters == len(raters_of(ratings, item_id, besides=user))
        assert found.lovers == len(loved_by(ratings, item_id, besides=user))
        for c, part in zip(found.contributors, why[item_id].contributions, strict=True):
            fans = loved_by(ratings, c.item.item_id, besides=user)
            assert c.lovers == len(fans) > 0
            assert c.lovers_with == len(fans & loved_by(ratings, item_id, besides=user))
            assert c.rating == mine[c.item.item_id] and c.share == round(part.share, 4)


def test_the_persons_own_row_is_never_counted(scene_data, catalogue, ratings, user):
    """Explaining one of the user's own loved sci-fi films (an evaluation's held-out item is in the
    stored row): the user loved both it and the contributor, and still counts in neither number."""
    mine = history_ratings(scene_data, user)
    own = next(i for i in (e.item_id for e in scene_data.history(user, TARGET)) if mine[i] >= LOVED)
    liked = next(i for i in (e.item_id for e in scene_data.history(user, SOURCE)) if mine[i] >= LOVED)
    evidence = UserEvidence(user_id=user, source_scene=SOURCE, target_scene=TARGET, source_items=[liked])
    why = {own: Attribution(item_id=own, model="test", score=1.0,
                            contributions=[Contribution(item_id=liked, value=1.0, share=1.0)])}
    found = answer_evidence(scene_data, evidence, [own], why, catalogue, mine)[own]
    (c,) = found.contributors
    assert user in loved_by(ratings, liked, besides=None) and user in loved_by(ratings, own, besides=None)
    assert c.lovers == len(loved_by(ratings, liked, besides=None)) - 1
    assert c.lovers_with == len(loved_by(ratings, liked, besides=user) & loved_by(ratings, own, besides=user))
    assert found.raters == len(raters_of(ratings, own, besides=None)) - 1


def test_a_person_known_only_by_named_likes(scene_data, catalogue, ratings):
    """Nobody to leave out, and no ratings: the likes were named, not rated."""
    liked = ["Groundhog Day (1993)", "Annie Hall (1977)"]
    evidence = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=liked)
    top = generate_candidates(scene_data, evidence, generators=["ease"], limit=3).item_ids
    why = attribute(scene_data, evidence, top, generator="ease")
    answer = answer_evidence(scene_data, evidence, top, why, catalogue, {})
    for item_id, found in answer.items():
        assert found.lovers == len(loved_by(ratings, item_id, besides=None))
        for c in found.contributors:
            assert c.item.item_id in liked and c.rating is None
            assert c.lovers == len(loved_by(ratings, c.item.item_id, besides=None))


def test_the_leads_vary_across_one_answer(scene_data, catalogue):
    """Items whose reasons are the same three films each lead with a different one (the one led
    with least so far, the largest share among equals), then round again."""
    liked = ["Groundhog Day (1993)", "Annie Hall (1977)", "Clerks (1994)"]
    evidence = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=liked)
    top = ["Star Wars (1977)", "Contact (1997)", "Alien (1979)", "Gattaca (1997)"]
    why = {i: Attribution(item_id=i, model="test", score=1.0, contributions=[
        Contribution(item_id=c, value=1.0 - 0.1 * n, share=round((3 - n) / 6, 4)) for n, c in enumerate(liked)])
        for i in top}
    answer = answer_evidence(scene_data, evidence, top, why, catalogue, {})
    leads = [answer[i].contributors[answer[i].lead].item.item_id for i in top]
    assert leads == [liked[0], liked[1], liked[2], liked[0]]


def test_the_evidence_numbers_are_what_a_sentence_may_state(scene_data, catalogue, user):
    evidence = user_evidence(scene_data, user, source=SOURCE, target=TARGET)
    top = generate_candidates(scene_data, evidence, generators=["ease"], limit=2).item_ids
    why = attribute(scene_data, evidence, top, generator="ease")
    found = answer_evidence(scene_data, evidence, top, why, catalogue, history_ratings(scene_data, user))[top[0]]
    expected = {float(found.raters), float(found.lovers), 4.0, 5.0}
    for c in found.contributors:
        expected |= {float(c.lovers), float(c.lovers_with), float(round(100 * c.share)), c.rating}
    assert found.numbers() == expected


def test_a_loved_contributor_leads_before_one_rated_low(scene_data, catalogue):
    liked = ["Groundhog Day (1993)", "Annie Hall (1977)"]
    evidence = UserEvidence(source_scene=SOURCE, target_scene=TARGET, source_items=liked)
    top = ["Star Wars (1977)", "Contact (1997)", "Alien (1979)"]
    why = {i: Attribution(item_id=i, model="test", score=1.0, contributions=[
        Contribution(item_id=c, value=1.0, share=0.5) for c in liked]) for i in top}
    answer = answer_evidence(scene_data, evidence, top, why, catalogue, {liked[0]: 1.0, liked[1]: 5.0})
    leads = [answer[i].contributors[answer[i].lead].item.item_id for i in top]
    assert leads == [liked[1], liked[0], liked[1]]  # still varied: each is led with in turn
