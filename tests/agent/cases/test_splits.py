"""The fixed user split: 20% train, 10% validation, 70% test, by the id alone."""

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

from agent.cases import SPLITS, split_of, users_in

ROOT = Path(__file__).resolve().parents[3]

SHARES = {"train": 0.2, "validation": 0.1, "test": 0.7}
N = 100_000


def ids() -> list[str]:
    """Ids as the datasets write them (ML-1M, ML-100k, imported), far more than any dataset has."""
    return [f"{prefix}_{n}" for prefix in ("1m", "100k", "mine") for n in range(1, N // 3 + 1)] + ["u"]


def test_the_shares_are_20_10_70_within_binomial_noise():
    users = ids()
    counts = Counter(split_of(u) for u in users)
    assert set(counts) == set(SPLITS) == set(SHARES)
    for split, share in SHARES.items():
        sd = math.sqrt(share * (1 - share) / len(users))
        assert abs(counts[split] / len(users) - share) < 4 * sd, (split, counts[split])  # 4 sd: ~1 in 16,000


def test_every_dataset_is_split_in_the_same_shares():
    """Not only on average: each id family (1m_, 100k_, a user's own) gets 20/10/70."""
    for prefix in ("1m", "100k", "mine"):
        users = [f"{prefix}_{n}" for n in range(1, 20_001)]
        counts = Counter(split_of(u) for u in users)
        for split, share in SHARES.items():
            sd = math.sqrt(share * (1 - share) / len(users))
            assert abs(counts[split] / len(users) - share) < 4 * sd, (prefix, split, counts[split])


def test_a_users_split_is_the_same_on_every_call():
    users = ids()[::101]
    first = [split_of(u) for u in users]
    assert all([split_of(u) for u in users] == first for _ in range(3))
    assert [split_of("".join(u)) for u in users] == first  # an equal string, another object


def test_the_split_of_known_users_never_changes():
    """Fitted weights and tuned models name the users they saw by this split: the first 40 users
    of each MovieLens set, as split when the split was made (T train, V validation, - test)."""
    code = {"train": "T", "validation": "V", "test": "-"}
    assert "".join(code[split_of(f"1m_{n}")] for n in range(1, 41)) == "-VV--V-V-----T-T-TTV------VVTTTV--------"
    assert "".join(code[split_of(f"100k_{n}")] for n in range(1, 41)) == "-----V-V-----VT-T--V-----V-T---------T-T"


def test_the_split_is_the_same_in_another_process():
    """No per-process state (Python's hash() is salted per process; the split must not be)."""
    users = ids()[::997]
    here = [split_of(u) for u in users]
    code = ("import sys, json; from agent.cases import split_of; "
            "print(json.dumps([split_of(u) for u in json.loads(sys.stdin.read())]))")
    there = subprocess.run([sys.executable, "-c", code], input=json.dumps(users), capture_output=True, text=True,
                           check=True, timeout=120, env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=ROOT).stdout
    assert json.loads(there) == here


def test_users_in_partitions_and_keeps_the_order():
    users = ids()[:5000]
    parts = {split: users_in(users, split) for split in SPLITS}
    assert sorted(u for part in parts.values() for u in part) == sorted(users)
    for split, part in parts.items():
        assert all(split_of(u) == split for u in part)
        members = set(part)
        assert part == [u for u in users if u in members]  # the caller's order
