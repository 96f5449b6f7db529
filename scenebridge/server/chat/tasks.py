"""Messages that are not recommendation requests, answered without the recommender: the
background tasks chat front-ends send to the same model (Open WebUI's "### Task:" prompts for a
chat title, tags, follow-ups, search queries, an autocompletion, its emoji and tool-choice
prompts; LibreChat's title prompts), greetings and thanks, and questions about a film.

A task is answered in the format it asks for (JSON when it asks for JSON, what the front-end
parses), built from the conversation it embeds (Open WebUI's <chat_history>, LibreChat's
"User: … AI: …"): the scene, the liked titles and the first pick, read from the answers this
service wrote ("Here are 5 Sci-Fi picks for someone who likes **Groundhog Day** (1993)…",
"1. **Star Wars** (1977)") and, failing that, from exact title matches in the user's turns.
Reading is bounded: the last TURNS turns, each cut at TURN_CHARS, titles matched in memory (no
store lookup), so a task embedding a huge history costs what a short one does.

Greetings and questions are recognised conservatively: the whole message is a greeting or
thanks, or it opens like a question about a film and says nothing of liking, wanting or a
scene. A message that names a liked title or asks for suggestions is a recommendation request.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from core.domain import Item
from core.titles import display_title, fold
from scenebridge.server.chat import render
from scenebridge.server.chat.catalogue import ChatCatalogue
from scenebridge.server.chat.conversation import Turn, read_answer
from scenebridge.server.chat.languages import chinese_name, language_of
from scenebridge.server.chat.words import tokenize

TURNS = 6  # of an embedded conversation, the last ones (Open WebUI embeds at most 6)
TURN_CHARS = 4000  # of each: an answer's header and first items are at its start
SMALL_TALK_CHARS = 300  # longer messages are requests (or nothing), never small talk

# -- recognising a task -------------------------------------------------------------------------
OPEN_WEBUI = "### Task:"
EMOJI = "Your task is to reflect the speaker's likely facial expression"
TOOLS = "Available Tools:"
LIBRECHAT_TITLE = re.compile(r"^\s*(?:Please generate|Provide) a concise,? (?:5-word-or-less )?title\b", re.I)
LIBRECHAT_STRUCTURED = re.compile(r"^\s*Analyze this conversation and provide:\s*\n\s*1\. The detected language", re.I)
HISTORY = re.compile(r"<chat_history>(.*?)(?:</chat_history>|\Z)", re.S)
JSON_KEY = re.compile(r"\{\s*\"(\w+)\"\s*:\s*([\[\"{]?)")
KINDS = {"title": "title", "tags": "tags", "follow_ups": "follow_ups", "queries": "queries", "text": "autocomplete"}
# Who speaks in an embedded conversation: Open WebUI writes "USER:" / "ASSISTANT:", LibreChat
# "User:" / "AI:", older LibreChat "||>User:" / "||>Response:".
ROLE = re.compile(r"^(?:\|\|>)?(USER|ASSISTANT|SYSTEM|TOOL|User|Assistant|AI|Human|Response|Message)\s*:[ \t]*",
                  re.M)
SPEAKERS = {"USER": "user", "User": "user", "Human": "user", "Message": "user",
            "ASSISTANT": "assistant", "Assistant": "assistant", "AI": "assistant", "Response": "assistant"}
# The first line of an answer of this service (render.header) and the titles it names in bold.
HEADER = re.compile(r"Here are \d+ (?P<scene>.+?) picks for (?:someone who likes (?P<likes>.+?)|user .+?):")
BOLD = re.compile(r"\*\*(?P<title>.+?)\*\*(?:\s*\((?P<year>\d{4})\))?")
ESCAPED = re.compile(r"\\(.)")

# -- recognising small talk ---------------------------------------------------------------------
GREETINGS = frozenset("hi hello hey hiya howdy yo greetings morning afternoon evening".split())
THANKS = frozenset("thanks thank thx ty cheers appreciated".split())
POLITE = frozenset("good there all everyone folks you so much very a lot again ok okay great cool nice awesome "
                   "perfect for that this the it s".split())  # s: "that's all" splits as "that", "s"
ABOUT = re.compile(r"^(?:help|what can you do|who are you|what are you|what is this|what do you do|"
                   r"how does (?:this|it) work|how do i use (?:this|it)|what is scenebridge)$")
QUESTION = re.compile(
    r"^\s*(?:who\s+(?:directed|directs|made|wrote|writes|produced|composed|stars?|starred|plays?|played|acted|"
    r"is\s+in|was\s+in|is\s+the\s+(?:director|star|lead))\b"
    r"|what(?:'s|\s+is|\s+was)\s+.{1,120}?\s+about\b"
    r"|when\s+(?:was|did|is)\s+.{1,120}?\b(?:released|come\s+out|came\s+out|made|filmed)\b"
    r"|what\s+year\s+(?:was|did|is)\b|how\s+long\s+is\b"
    r"|(?:where|how)\s+can\s+i\s+(?:watch|stream|rent|buy)\b"
    r"|tell\s+me\s+about\b"
    r"|is\s+.{1,120}?\s+(?:based\s+on|a\s+true\s+story|a\s+remake|a\s+sequel)\b)", re.I)
# A message holding one of these asks for films after all (or says what it likes): a request.
REQUESTING = re.compile(r"\b(?:recommend\w*|suggest\w*|like[sd]?|lov(?:e|ed|es)|enjoy\w*|similar|more|others?|"
                        r"else|picks?|any|some|should|want|fan|favou?rites?)\b", re.I)
ZH_GREETINGS = ("你好", "您好", "大家好", "早上好", "晚上好", "嗨", "哈喽", "哈啰", "こんにちは", "안녕하세요", "안녕")
ZH_THANKS = ("谢谢", "謝謝", "多谢", "多謝", "感谢", "感謝", "谢了", "谢啦", "ありがとう", "감사합니다", "고마워")
ZH_PARTICLES = "你您们們啊呀哦嗯啦哈了的吧ございます요"
ZH_ABOUT = re.compile(r"^(?:你能做什么|你会做什么|你是谁|怎么用|帮助)$")
ZH_QUESTION = re.compile(r"谁导演|導演是誰|导演是谁|谁拍的|誰拍的|讲的是什么|講的是什麼|讲什么|讲了什么|"
                         r"是关于什么|主演是谁|谁主演|什么时候上映|哪年上映")
ZH_REQUESTING = re.compile(r"推荐|推薦|喜欢|喜歡|类似|類似|想看|更多|再来|還有|还有")


@dataclass(frozen=True)
class Reply:
    """An answer that is no recommendation. ``kind``: the task (title, tags, follow_ups,
    queries, autocomplete, emoji, tool_calls, json) or the small talk (greeting, thanks,
    question, about); ``scene``: the target scene it is about."""

    kind: str
    text: str
    scene: str

    @property
    def note(self) -> str:
        return f"Not a request for picks ({self.kind}): answered without the recommender."


@dataclass
class Embedded:
    """What the conversation a task embeds is about."""

    scene: str | None = None
    likes: list[Item] = field(default_factory=list)
    picks: list[Item] = field(default_factory=list)
    language: str = "en"


def reply(turns: list[Turn], catalogue: ChatCatalogue, scene: str | None = None) -> Reply | None:
    """The answer to a conversation whose latest user message is a front-end's task or small
    talk, else None (a recommendation request). ``scene``: the model's scene, if it has one."""
    users = [t.text for t in turns if t.role == "user"]
    # Without a user message, only a task sent as a system message alone (LibreChat's titles).
    told = [t.text for t in turns if t.role in ("system", "developer") and t.text.strip()]
    latest = users[-1] if users else (told[-1] if told else "")
    if users and any(t.role == "system" and t.text.lstrip().startswith(TOOLS) and "tool_calls" in t.text
                     for t in turns):
        return Reply("tool_calls", json.dumps({"tool_calls": []}), _target(Embedded(), catalogue, scene))
    task = _task(latest)
    if task is not None:
        kind, key, shape, history = task
        return _answer_task(kind, key, shape, _read(history, catalogue), catalogue, scene)
    if not users:
        return None
    talk = _small_talk(latest, catalogue)
    if talk is None:
        return None
    language = language_of(latest)
    target = _target(Embedded(language=language), catalogue, scene)
    return Reply(talk, render.small_talk(talk, scene=target, examples=_examples(catalogue, target),
                                         language=language), target)


# -- tasks --------------------------------------------------------------------------------------
def _task(text: str) -> tuple[str, str | None, str, str] | None:
    """(kind, JSON key, the key's value shape "[" / '"' / "{" / "", the embedded conversation)."""
    stripped = text.lstrip()
    if stripped.startswith(EMOJI):
        return "emoji", None, "", ""
    if LIBRECHAT_STRUCTURED.match(stripped):
        return "librechat_structured", "title", '"', stripped
    if LIBRECHAT_TITLE.match(stripped):
        return "librechat_title", None, "", stripped
    if not stripped.startswith(OPEN_WEBUI):
        return None
    instructions = stripped.split("<chat_history>", 1)[0]
    history = HISTORY.search(stripped)
    key = JSON_KEY.search(instructions)
    if key is None:
        kind = "json" if "json" in instructions.lower() else "text"
        return kind, None, "", history.group(1) if history else ""
    return (KINDS.get(key.group(1), "json"), key.group(1), key.group(2),
            history.group(1) if history else "")


def _answer_task(kind: str, key: str | None, shape: str, seen: Embedded, catalogue: ChatCatalogue,
                 scene: str | None) -> Reply:
    target = _target(seen, catalogue, scene)
    if kind in ("title", "librechat_title", "librechat_structured"):
        title = _title(seen, target)
        if kind == "librechat_title":
            return Reply("title", title, target)
        value = {"title": title}
        if kind == "librechat_structured":
            value = {"language": "Chinese" if seen.language == "zh" else "English", "title": title}
        return Reply("title", json.dumps(value, ensure_ascii=False), target)
    if kind == "tags":
        return Reply(kind, json.dumps({"tags": _tags(seen, target)}, ensure_ascii=False), target)
    if kind == "follow_ups":
        return Reply(kind, json.dumps({"follow_ups": _follow_ups(seen, catalogue, target)}, ensure_ascii=False),
                     target)
    if kind == "emoji":
        return Reply(kind, "🙂", target)
    if kind == "text":  # a task asking for no JSON: say what this service does
        return Reply(kind, render.small_talk("about", scene=target, examples=_examples(catalogue, target),
                                             language=seen.language), target)
    # queries (no web search is needed here), an autocompletion (none), any other JSON task: the
    # key it asks for, empty.
    empty: object = {"[": [], '"': "", "{": {}}.get(shape, "")
    return Reply(kind, json.dumps({key: empty} if key else {}), target)


def _read(history: str, catalogue: ChatCatalogue) -> Embedded:
    """The scene, liked titles and last picks of an embedded conversation, from its last TURNS
    turns, each cut at TURN_CHARS; titles are matched exactly, in memory."""
    marks = list(ROLE.finditer(history))[-TURNS:]
    seen = Embedded()
    user_texts = []
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(history)
        text = _unquoted(history[mark.end():min(end, mark.end() + TURN_CHARS)])
        role = SPEAKERS.get(mark.group(1))
        if role == "assistant":
            header = HEADER.search(text)
            if header is not None:
                seen.scene = _scene(ESCAPED.sub(r"\1", header.group("scene")), catalogue) or seen.scene
                if header.group("likes"):
                    seen.likes = _bold_items(header.group("likes"), catalogue)
            picks = read_answer(text, catalogue)
            seen.picks = picks or seen.picks
        elif role == "user":
            user_texts.append(text)
    if user_texts:
        seen.language = language_of(user_texts[-1])
    if seen.scene is None or not seen.likes:  # no answer of ours says: what the user named
        likes: dict[str, Item] = {}
        named = None
        for text in user_texts:  # exact title matches, the last scene named
            tokens = tokenize(text)
            likes.update((m.item.item_id, m.item) for m in catalogue.index.find(text, tokens))
            mentions = catalogue.scenes.find(tokens)
            named = (mentions[-1].scene if mentions else catalogue.scenes.unspaced_scene(text)) or named
        seen.likes = seen.likes or list(likes.values())
        seen.scene = seen.scene or named
    return seen


def _unquoted(text: str) -> str:
    """A turn as older LibreChat embeds it: in quotes, the answer JSON-encoded ("…\\n…")."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        text = text.strip('"')
        if "\n" not in text:
            text = text.replace("\\n", "\n").replace('\\"', '"')
    return text


def _bold_items(text: str, catalogue: ChatCatalogue) -> list[Item]:
    items = []
    for match in BOLD.finditer(text):
        year = int(match.group("year")) if match.group("year") else None
        item = catalogue.index.exact(ESCAPED.sub(r"\1", match.group("title")), year)
        if item is not None and item not in items:
            items.append(item)
    return items


def _scene(name: str, catalogue: ChatCatalogue) -> str | None:
    return name if name in catalogue.scenes.scenes else catalogue.scenes.lookup(name)


def _target(seen: Embedded, catalogue: ChatCatalogue, scene: str | None) -> str:
    return seen.scene or scene or catalogue.default_target(seen.likes)


def _title(seen: Embedded, target: str) -> str:
    """A short title naming the scene and up to two liked titles, in the conversation's language."""
    names = [display_title(i.title) for i in seen.likes[:2]]
    liked = " & ".join(names) + ("…" if len(seen.likes) > 2 else "")
    if seen.language == "zh":
        name = chinese_name(target) or target
        title = f"{name}推荐：{liked}" if names else f"{name}电影推荐"
    else:
        title = f"{target} like {liked}" if names else f"{target} recommendations"
    return title if len(title) <= 60 else title[:59].rstrip() + "…"


def _tags(seen: Embedded, target: str) -> list[str]:
    """"Movies", the target scene, the liked titles' scenes, then the genres the liked titles and
    the picks share most: five at most."""
    genres = Counter(g for item in seen.likes + seen.picks for g in item.genres if g and g != "unknown")
    tags = ["Movies", target]
    for tag in [*(i.scene for i in seen.likes if i.scene), *(g for g, _ in genres.most_common())]:
        if tag not in tags and tag not in target.split(","):
            tags.append(tag)
    return tags[:5]


def _follow_ups(seen: Embedded, catalogue: ChatCatalogue, target: str) -> list[str]:
    """Three next messages this service understands: refinements of the last list, or, with none
    yet, requests naming well-known titles of the other scene."""
    if seen.picks:
        return ["Something older", "More like these", f"Not {display_title(seen.picks[0].title)}"]
    a, b = ([display_title(i.title) for i in _examples(catalogue, target)] + ["Groundhog Day", "Annie Hall"])[:2]
    scene = target.lower()
    return [f"I loved {a} — what {scene} should I watch?", f"I loved {b} — any older {scene}?",
            f"I loved {a} and {b}: {scene} from the 90s"]


def _examples(catalogue: ChatCatalogue, target: str, n: int = 2) -> list[Item]:
    """Well-known titles of a scene other than the target: what an example request names."""
    source = next((s for s in catalogue.scenes.scenes if s != target), target)
    return catalogue.scene_items(source)[:n]


# -- small talk ---------------------------------------------------------------------------------
def _small_talk(text: str, catalogue: ChatCatalogue) -> str | None:
    """"greeting", "thanks", "about" (what this service does) or "question" (about a film),
    or None: a request, or nothing recognised (the help answers that)."""
    if len(text) > SMALL_TALK_CHARS:
        return None
    if language_of(text) != "en":
        return _small_talk_cjk(text)
    words = re.findall(r"[a-z]+", fold(text))
    bare = " ".join(words)
    if words and len(words) <= 8 and set(words) <= GREETINGS | THANKS | POLITE and set(words) & (GREETINGS | THANKS):
        return "thanks" if set(words) & THANKS else "greeting"
    if ABOUT.match(bare):
        return "about"
    if QUESTION.match(text) and not REQUESTING.search(text) and not _names_scene(text, catalogue):
        return "question"
    return None


def _small_talk_cjk(text: str) -> str | None:
    bare = re.sub(r"[\W_]+", "", text)
    for kind, phrases in (("thanks", ZH_THANKS), ("greeting", ZH_GREETINGS)):
        rest = bare
        for phrase in phrases:
            rest = rest.replace(phrase, "")
        if rest != bare and not rest.strip(ZH_PARTICLES):
            return kind
    if ZH_ABOUT.match(bare):
        return "about"
    if ZH_QUESTION.search(text) and not ZH_REQUESTING.search(text):
        return "question"
    return None


def _names_scene(text: str, catalogue: ChatCatalogue) -> bool:
    return bool(catalogue.scenes.find(tokenize(text)))
