"""Answers in Markdown: ranked, explained recommendations, or help when nothing was understood.

A list item is written "1. **Title** (year)": conversation.py reads earlier answers back from it.
Every text that is not ours (the user's words, titles, ids, the model's explanations, notes that
quote them) is Markdown-escaped (``md``): it shows as written and can never become a link, an
image a front-end fetches, HTML, or break the answer's own formatting.
"""

from __future__ import annotations

import re

from agent.requests import Recommendation
from core.domain import Item
from core.titles import display_title, shown_title
from scenebridge.server.chat.parse import Unresolved

REFINE = 'Refine with "something older", "newer", "not <title>" or "more".'
# What could start markup: code, emphasis, links and images ([…]), HTML and autolinks (<…>),
# strike-through; "_" only at a word's edge (inside one, as in "1m_1", it is plain text).
_MARKUP = re.compile(r"[\\`*\[\]<>~]|(?<!\w)_|_(?!\w)")


def md(text: str) -> str:
    """``text`` as Markdown that shows it literally."""
    return _MARKUP.sub(lambda m: "\\" + m.group(), text)


def note(text: str) -> str:
    """A note under the answer, in italics."""
    return f"_{md(text)}_"


def _bold(item: Item) -> str:
    title = f"**{md(display_title(item.title))}**"
    return f"{title} ({item.year})" if item.year else title


def _names(items: list[Item]) -> str:
    names = [_bold(i) for i in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def recommendations(result: Recommendation, items: dict[str, Item], *, likes: list[Item],
                    notes: list[str]) -> str:
    """``items``: every item the answer names (recommended ones and their evidence), by id."""
    if result.user:
        who = f"user **{md(result.user)}** (from their {md(result.source_scene)} history)"
    else:
        who = f"someone who likes {_names(likes)}"
    lines = [f"Here are {len(result.items)} {md(result.target_scene)} picks for {who}:", ""]
    for rec in result.items:
        item = items.get(rec.item_id)
        lines.append(f"{rec.rank}. {_bold(item) if item else f'**{md(rec.title)}**'}")
        if rec.explanation:
            lines.append(f"   - Why: {md(rec.explanation)}")
        if rec.evidence:
            cited = [shown_title(items[e]) if e in items else e for e in rec.evidence]
            lines.append(f"   - Evidence: {md('; '.join(cited))}")
    lines.append("")
    if result.fallback:
        lines.append(f"> Ranked by candidate scores, not by the model: {md(result.fallback)}.")
        lines.append("")
    lines.extend(note(n) for n in notes)
    if notes:
        lines.append("")
    model = f"{result.model}, {result.ranker}" if result.model else result.ranker
    lines.append(f"_Ranked from {result.candidates} candidates ({md(model)})._ {md(REFINE)}")
    return "\n".join(lines)


def help_answer(*, scene: str, popular: list[Item], examples: list[Item], unknown: list[Unresolved],
                notes: list[str], items: dict[str, Item]) -> str:
    """When no liked title (and no user) came through: what was understood, how to ask, and the
    scene's best-known items to start from."""
    lines = ["I could not find a title I know in your message, so I cannot tell what you like yet.", ""]
    understood = [f"you want **{md(scene)}** recommendations"]
    for miss in unknown:
        guess = [md(shown_title(items[s]) if s in items else s) for s in miss.suggestions]
        understood.append(f'I did not recognise "{md(miss.text)}"' + (f" (did you mean {' or '.join(guess)}?)"
                                                                         if guess else ""))
    lines.append("What I understood: " + "; ".join(understood) + ".")
    lines.extend(note(n) for n in notes)
    lines.append("")
    if len(examples) >= 2:
        a, b = (display_title(i.title) for i in examples[:2])
        lines.append(f"Name a few titles you enjoyed, for example: *I loved {md(a)} and {md(b)} — what "
                     f"{md(scene.lower())} should I watch?* Titles in quotes are matched loosely "
                     f'("{md(a[:-1])}" still finds {md(a)}).')
        lines.append("")
    if popular:
        lines.append(f"Meanwhile, the best-known {md(scene)} here:")
        lines.extend(f"- {_bold(i)}" for i in popular)
    return "\n".join(lines)
