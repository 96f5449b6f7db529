"""The candidates' collaborative evidence on real ML-100k histories: neighbour counts against a
brute-force reference, the user's own row never counted, contributors from the user's items."""

from __future__ import annotations

import numpy as np

from agent.candidates import candidate_support, joint_matrix, make_generator, user_evidence
from agent.candidates.evidence import resolve
from agent.candidates.support import nearest_neighbours

SOURCE, TARGET = "Comedy", "Sci-Fi"


def test_neighbour_counts_match_a_brute_force_count(scene_data):
    user = str(scene_data.users[10])
    evidence = user_evidence(scene_data, user, source=SOURCE, target=TARGET, cold=True)
    query = resolve(scene_data, evidence)
    joint = joint_matrix(scene_data, SOURCE, TARGET).matrix.toarray()
    mine = np.zeros(joint.shape[1])
    mine[query.source_items] = 1
    similarity = joint @ mine / np.sqrt(np.maximum(joint.sum(axis=1), 1))
    similarity[query.user_row] = 0
    rows = nearest_neighbours(scene_data, query, 30)
    assert len(rows) == 30 and query.user_row not in rows
    assert np.all(np.diff(similarity[rows]) <= 1e-12)  # most similar first
    assert similarity[rows].min() >= np.sort(similarity)[-30] - 1e-12  # exactly the top 30

    scores = make_generator("backbone").score(scene_data, query)
    head = [str(query.target.items[c]) for c in np.argsort(-scores)[:20]]
    support = candidate_support(scene_data, evidence, head, neighbours=30)
    target = scene_data.scene(TARGET).matrix.toarray()
    for n, item in enumerate(head):
        assert support[item].rank == n + 1 and support[item].neighbours == 30
        assert support[item].neighbours_with == int(target[rows, query.target.item_index[item]].sum())
        assert set(support[item].because) <= {e.item_id for e in evidence.source_items}
        assert len(support[item].because) <= 2


def test_the_users_own_row_never_reaches_their_support(scene_data):
    """A stored user is their own most similar person; their row (which holds the held-out items)
    is never a neighbour of theirs, but is one of an anonymous person with the same evidence."""
    user = str(scene_data.users[3])
    evidence = user_evidence(scene_data, user, source=SOURCE, target=TARGET, cold=True)
    query = resolve(scene_data, evidence)
    anonymous = resolve(scene_data, evidence.model_copy(update={"user_id": None}))
    assert query.user_row in nearest_neighbours(scene_data, anonymous, 100)
    assert query.user_row not in nearest_neighbours(scene_data, query, 100)
    held = [e.item_id for e in scene_data.history(user, TARGET)]
    mine = candidate_support(scene_data, evidence, held, neighbours=100)
    rows = nearest_neighbours(scene_data, query, 100)
    target = scene_data.scene(TARGET).matrix
    for item in held:  # counted over the others only
        assert mine[item].neighbours_with == int(target[rows][:, query.target.item_index[item]].sum())
