"""What the picks must be, as target items to leave out before the recommender ranks: genres
avoided (an item with any of them goes), years (an item outside them goes; one without a year
stays), genres wanted (an item with none of them goes; the target scene's own genres ask
nothing).

They are applied in that order, each on what the ones before left. One that would leave fewer
than k items is relaxed, and a note says so and why; one that holds says so too. Nothing is
ignored silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.domain import Item
from scenebridge.server.chat.conversation import Understanding


@dataclass(frozen=True)
class Constraint:
    what: str  # "genres", "years": how a note names the kind
    said: str  # how a note says it: "without Horror", "from 1980 to 1989", "with Comedy or Romance"
    leave_out: frozenset[str]  # target item ids


@dataclass
class Applied:
    exclude: list[str] = field(default_factory=list)  # item ids the kept constraints leave out
    kept: list[Constraint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a constraint was relaxed

    def held(self, target: str) -> list[str]:
        """The notes that say which constraints the picks keep."""
        return [f"Only {target} {c.said}." for c in self.kept]


def constraints(seen: Understanding, target: str, items: list[Item]) -> list[Constraint]:
    """The conversation's constraints on ``items`` (the target scene's)."""
    found = []
    if seen.avoid_genres:
        avoided = set(seen.avoid_genres)
        found.append(Constraint("genres", "without " + _either(seen.avoid_genres, "or"),
                                frozenset(i.item_id for i in items if avoided & set(i.genres))))
    if seen.min_year is not None or seen.max_year is not None:
        low, high = seen.min_year or -10**9, seen.max_year or 10**9
        found.append(Constraint("years", seen.year_reason or "in the years asked",
                                frozenset(i.item_id for i in items if i.year and not low <= i.year <= high)))
    own = {g.strip() for g in target.split(",")}
    wanted = [g for g in seen.genres if g not in own]
    if wanted:
        found.append(Constraint("genres", "with " + _either(wanted, "or"),
                                frozenset(i.item_id for i in items if not set(wanted) & set(i.genres))))
    return found


def apply(found: list[Constraint], items: list[Item], target: str, k: int, unavailable: set[str]) -> Applied:
    """Each constraint that leaves at least ``k`` of ``items`` (``unavailable``: left out already,
    or the person's own), in order; the others relaxed, with a note saying why."""
    applied = Applied()
    left = {i.item_id for i in items} - unavailable
    for constraint in found:
        remaining = left - constraint.leave_out
        if len(remaining) >= k:
            left = remaining
            applied.kept.append(constraint)
            applied.exclude.extend(sorted(constraint.leave_out))
        else:
            applied.notes.append(
                f"Only {len(remaining)} {target} {'title is' if len(remaining) == 1 else 'titles are'} left "
                f"{constraint.said}, fewer than the {k} asked for, so the {constraint.what} are not limited.")
    return applied


def relaxed(applied: Applied, target: str) -> str:
    """The note when the recommender found nothing to rank within the kept constraints."""
    said = _either([c.said for c in applied.kept], "and")
    kinds = _either(sorted({c.what for c in applied.kept}), "and")
    return f"Nothing in {target} {said} was left to rank, so the {kinds} are not limited."


def _either(words: list[str], joiner: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joiner} " + words[-1]
