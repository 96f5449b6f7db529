"""Answers in Markdown: ranked, explained recommendations, or help when nothing was understood.

A list item is written "1. **Title** (year)": conversation.py reads earlier answers back from it.
Every text that is not ours (the user's words, titles, ids, the model's explanations, notes that
quote them) is Markdown-escaped (``md``): it shows as written and can never become a link, an
image a front-end fetches, HTML, or break the answer's own formatting.
"""

from __future__ import annotations

import re

from agent.requests import Recommendation, RecommendedItem
from core.domain import Item
from core.titles import display_title, normalize_title, shown_title
from scenebridge.server.chat.languages import chinese_name
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
    """``items``: every item the answer names (recommended ones and their evidence), by id. The
    pieces below, joined: a streamed answer sends them as they are ready."""
    return (header(result, likes=likes) + "".join(title(rec, items) + reasons(rec, items) for rec in result.items)
            + footer(result, notes))


def header(result: Recommendation, *, likes: list[Item]) -> str:
    """What the answer is: known once the items are ranked (``result`` need not be explained yet)."""
    if result.user:
        who = f"user **{md(result.user)}** (from their {md(result.source_scene)} history)"
    else:
        who = f"someone who likes {_names(likes)}"
    return f"Here are {len(result.items)} {md(result.target_scene)} picks for {who}:\n\n"


def title(rec: RecommendedItem, items: dict[str, Item]) -> str:
    """An item's first line, "1. **Title** (year)" (conversation.py reads answers back from it)."""
    item = items.get(rec.item_id)
    return f"{rec.rank}. {_bold(item) if item else f'**{md(rec.title)}**'}\n"


def reasons(rec: RecommendedItem, items: dict[str, Item]) -> str:
    """The lines under an item once it is explained: why, and the evidence (by title, from ``items``)."""
    lines = []
    if rec.explanation:
        lines.append(f"   - Why: {md(rec.explanation)}")
    if rec.evidence:
        cited = [shown_title(items[e]) if e in items else e for e in rec.evidence]
        lines.append(f"   - Evidence: {md('; '.join(cited))}")
    return "".join(f"{line}\n" for line in lines)


def footer(result: Recommendation, notes: list[str]) -> str:
    """After the items: the fallback, the notes, what ranked them and how to refine."""
    lines = [""]
    if result.fallback:
        lines.append(f"> Ranked by candidate scores, not by the model: {md(result.fallback)}.")
        lines.append("")
    lines.extend(note(n) for n in notes)
    if notes:
        lines.append("")
    lines.append(f"_Ranked from {result.candidates} candidates ({md(_who(result))})._ {md(REFINE)}")
    return "\n".join(lines)


def _who(result: Recommendation) -> str:
    """The ranker, and the model only where it did work (Recommendation.working_model)."""
    model = result.working_model
    return f"{model}, {result.ranker}" if model else result.ranker


def help_answer(*, scene: str, popular: list[Item], examples: list[Item], unknown: list[Unresolved],
                notes: list[str], items: dict[str, Item], language: str = "en") -> str:
    """When no liked title (and no user) came through: what was understood, how to ask, and the
    scene's best-known items to start from; in Chinese for a request written in it."""
    if language == "zh":
        return _help_zh(scene=scene, popular=popular, examples=examples, unknown=unknown, notes=notes, items=items)
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


def _help_zh(*, scene: str, popular: list[Item], examples: list[Item], unknown: list[Unresolved],
             notes: list[str], items: dict[str, Item]) -> str:
    name = chinese_name(scene)
    lines = ["我在你的消息里没有找到片库中的片名，所以还不知道你喜欢什么。", ""]
    understood = [f"你想要 **{md(scene)}**（{name}）推荐" if name else f"你想要 **{md(scene)}** 推荐"]
    for miss in unknown:
        guess = [md(shown_title(items[s]) if s in items else s) for s in miss.suggestions]
        understood.append(f"没有找到《{md(miss.text)}》" + (f"（是不是 {' 或 '.join(guess)}？）" if guess else ""))
    if any(not normalize_title(miss.text) for miss in unknown):
        understood.append("片库里的片名都是英文的")
    lines.append("我理解到：" + "；".join(understood) + "。")
    lines.extend(note(n) for n in notes)
    lines.append("")
    if len(examples) >= 2:
        lines.append(f"请用英文片名写几部你喜欢的电影，例如：*{_ask_zh(scene, examples)}*")
        lines.append("")
    if popular:
        lines.append(f"{md(scene)} 里最知名的几部：")
        lines.extend(f"- {_bold(i)}" for i in popular)
    return "\n".join(lines)


# -- not a recommendation request (tasks.py): one or two sentences, with an example -------------------
SMALL_TALK = {
    "greeting": "Hello! I recommend {scene} films for the films you enjoyed: tell me a few.",
    "thanks": "You're welcome! Say \"more\", \"something older\" or \"not <title>\" to change the last {scene} "
              "list, or name other films you enjoyed.",
    "question": "I cannot answer questions about a film (who made it, what it is about): I only recommend "
                "{scene} films for the ones you enjoyed.",
    "about": "I recommend {scene} films for the films you enjoyed: tell me a few.",
}
SMALL_TALK_ZH = {
    "greeting": "你好！我根据你喜欢的电影推荐{scene}片：告诉我几部你喜欢的电影（英文片名）。",
    "thanks": "不客气！说 “more”、“something older” 或 “not <片名>” 可以调整上一份{scene}片列表，"
              "也可以再说几部你喜欢的电影。",
    "question": "我回答不了关于某部电影的问题（导演、剧情等），只能根据你喜欢的电影（英文片名）推荐{scene}片。",
    "about": "我根据你喜欢的电影推荐{scene}片：告诉我几部你喜欢的电影（英文片名）。",
}


def small_talk(kind: str, *, scene: str, examples: list[Item], language: str = "en") -> str:
    """The answer to a greeting, thanks, a question about a film or about this service
    (``kind``): what this service does and how to ask, never picks."""
    if language == "zh":
        name = (chinese_name(scene) or scene).removesuffix("片")
        text = SMALL_TALK_ZH[kind].format(scene=md(name))
        return text + (f"例如：*{_ask_zh(scene, examples)}*" if len(examples) >= 2 else "")
    text = SMALL_TALK[kind].format(scene=md(scene))
    if len(examples) >= 2:
        a, b = (md(display_title(i.title)) for i in examples[:2])
        text += f" For example: *I loved {a} and {b} — what {md(scene.lower())} should I watch?*"
    return text


def _ask_zh(scene: str, examples: list[Item]) -> str:
    """A request in Chinese that the parser reads: titles in 《》, the scene in Chinese."""
    a, b = (md(display_title(i.title)) for i in examples[:2])
    name = (chinese_name(scene) or scene).removesuffix("片")
    return f"我喜欢《{a}》和《{b}》，推荐一些{md(name)}片"
