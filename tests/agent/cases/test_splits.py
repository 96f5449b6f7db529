from collections import Counter

from agent.cases import split_of


def test_split_is_stable_and_proportioned():
    users = [f"1m_{n}" for n in range(1, 6041)]
    counts = Counter(split_of(u) for u in users)
    assert abs(counts["train"] / len(users) - 0.2) < 0.03
    assert abs(counts["validation"] / len(users) - 0.1) < 0.03
    assert [split_of(u) for u in users[:50]] == [split_of(u) for u in users[:50]]
