"""Held-out cases: which users may be used for what (a fixed split), the protocols that hold an
item out of a user's evidence, and how accurately a ranking placed it.

Tuning and fitting draw their users and cases from here as much as evaluation does, so the split
that keeps them apart is defined once, below all three.
"""

from agent.cases.metrics import HR_KS, NDCG_KS, expected_at_10, position_among, rank_metrics, true_item_position
from agent.cases.protocols import (FULL_PROTOCOLS, PROTOCOLS, Case, Protocol, Sampling, active_users, build_cases,
                                   leave_last_out_cases)
from agent.cases.splits import SPLITS, Split, split_of, users_in

__all__ = [
    "FULL_PROTOCOLS", "HR_KS", "NDCG_KS", "PROTOCOLS", "SPLITS", "Case", "Protocol", "Sampling", "Split",
    "active_users", "build_cases", "expected_at_10", "leave_last_out_cases", "position_among", "rank_metrics",
    "split_of", "true_item_position", "users_in",
]
