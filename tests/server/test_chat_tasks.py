"""Messages that are not recommendation requests (issue 15, items 4 and 8): chat front-ends'
background tasks, greetings and questions, and requests in Chinese.

The task prompts are Open WebUI's defaults (backend/open_webui/config.py, 0.6 to 0.12) as it
fills them: its instruction line, output format and <chat_history> block as it writes them,
the guideline lines shortened (the recogniser reads the first two and the history); the
conversation is rendered as Open WebUI's get_messages_content does ("USER: …" / "ASSISTANT: …",
the last 2 or 6 messages). They go through the official openai client against the app in this
process, over the ML-100k catalogue without a store: its service is the real one whose
recommender refuses to be asked, so an answer with picks fails the test."""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager

import openai
import pytest
from fastapi.testclient import TestClient

from agent.fusion import FusionWeights
from agent.service import Service
from scenebridge.server.app import create_app
from scenebridge.server.chat import tasks
from scenebridge.server.chat.conversation import Turn, understand
from scenebridge.server.chat.render import small_talk
from scenebridge.server.limits import WorkQueue
from scenebridge.server.state import ServerState
from tests.server.test_chat_parse import catalogue  # noqa: F401 - the fixture: ML-100k titles, no store

ASK = "I loved Groundhog Day and Annie Hall — what sci-fi should I watch?"
ANSWER = ("Here are 3 Sci-Fi picks for someone who likes **Groundhog Day** (1993) and **Annie Hall** (1977):\n\n"
          "1. **Star Wars** (1977)\n   - Why: ...\n   - Evidence: Groundhog Day (1993)\n"
          "2. **Contact** (1997)\n   - Why: ...\n3. **Gattaca** (1997)\n   - Why: ...\n\n"
          "_Ranked from 100 candidates (backbone)._ Refine with \"something older\", \"newer\", \"not <title>\" or "
          "\"more\".")
CONVERSATION = [("user", ASK), ("assistant", ANSWER)]

# Open WebUI's task prompts: (what it asks for, the template with {history}, how many messages).
TITLE = ("### Task:\nGenerate a concise title summarizing the chat history.\n### Guidelines:\n- Keep it short.\n"
         "### Output:\nJSON format: { \"title\": \"your concise title here\" }\n### Examples:\n"
         "- { \"title\": \"Stock Trends\" },\n### Chat History:\n<chat_history>\n{history}\n</chat_history>", 2)
TITLE_WITH_EMOJI = ("### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
                    "### Guidelines:\n- Use emojis that help.\n### Output:\nJSON format: { \"title\": \"your concise "
                    "title here\" }\n### Examples:\n- { \"title\": \"📉 Stock Market Trends\" },\n### Chat History:\n"
                    "<chat_history>\n{history}\n</chat_history>", 2)
TAGS = ("### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 more "
        "specific subtopic tags.\n\n### Guidelines:\n- If content is too short, use only [\"General\"]\n\n"
        "### Output:\nJSON format: { \"tags\": [\"tag1\", \"tag2\", \"tag3\"] }\n\n### Chat History:\n"
        "<chat_history>\n{history}\n</chat_history>", 6)
FOLLOW_UPS = ("### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next "
              "in this conversation as a **user**, based on the chat history, to help continue or deepen the "
              "discussion.\n### Guidelines:\n- Write them from the user's point of view.\n### Output:\n"
              "JSON format: { \"follow_ups\": [\"Question 1?\", \"Question 2?\", \"Question 3?\"] }\n"
              "### Chat History:\n<chat_history>\n{history}\n</chat_history>", 6)
QUERIES = ("### Task:\nAnalyze the chat history to determine the necessity of generating search queries, in the given "
           "language.\n\n### Guidelines:\n- Respond **EXCLUSIVELY** with a JSON object.\n- When generating search "
           "queries, respond in the format: { \"queries\": [\"query1\", \"query2\"] }\n\n### Output:\nStrictly "
           "return in JSON format: \n{\n  \"queries\": [\"query1\", \"query2\"]\n}\n\n### Chat History:\n"
           "<chat_history>\n{history}\n</chat_history>\n", 6)
AUTOCOMPLETE = ("### Task:\nYou are an autocompletion system. Continue the text in `<text>` based on the **completion "
                "type** in `<type>` and the given language.  \n\n### **Instructions**:\n5. If unsure, return: "
                "`{ \"text\": \"\" }`.  \n\n### **Output Rules**:\n- Respond only in JSON format: "
                "`{ \"text\": \"<your_completion>\" }`.\n\n---\n### Context:\n<chat_history>\n{history}\n"
                "</chat_history>\n<type>General</type>  \n<text>I loved Ground</text>  \n#### Output:\n", 6)
IMAGE_PROMPT = ("### Task:\nGenerate a detailed prompt for am image generation task based on the given language and "
                "context.\n\n### Output:\nStrictly return in JSON format:\n{\n    \"prompt\": \"Your detailed "
                "description here.\"\n}\n\n### Chat History:\n<chat_history>\n{history}\n</chat_history>", 6)
EMOJI = ("Your task is to reflect the speaker's likely facial expression through a fitting emoji.\n\n"
         "Message: ```{ask}```")
# LibreChat (@librechat/agents src/utils/title.ts): its convo template is "User: {input}\nAI: {output}".
LIBRECHAT_TITLE = ("Provide a concise, 5-word-or-less title for the conversation, using title case conventions. Only "
                   "return the title itself.\n\nConversation:\nUser: {ask}\nAI: {answer}")
LIBRECHAT_STRUCTURED = ("Analyze this conversation and provide:\n1. The detected language of the conversation\n"
                        "2. A concise title in the detected language (5 words or less, no punctuation or quotation)"
                        "\n\nUser: {ask}\nAI: {answer}")


def filled(template: tuple[str, int], messages: list[tuple[str, str]] = CONVERSATION) -> str:
    """As Open WebUI fills {{MESSAGES:END:n}}: the last n messages, "ROLE: content" a line each."""
    text, last = template
    return text.replace("{history}", "\n".join(f"{role.upper()}: {content}" for role, content in messages[-last:]))


class NoPicks(Service):
    """The real Service over the store-free catalogue's retriever, with a recommender that must
    not be asked: these messages are answered without picks."""

    async def recommend(self, request):
        raise AssertionError(f"asked for picks: {request}")

    async def start(self, request):
        raise AssertionError(f"asked for picks: {request}")


@pytest.fixture
def client(catalogue):  # noqa: F811
    """The official client against the app in this process: the real routes, middleware and
    wire code, the state over the store-free catalogue."""
    app = create_app(use_llm=False, api_key=None)

    @asynccontextmanager
    async def lifespan(app):
        state = ServerState(config=app.state.config, catalogue=catalogue, queue=WorkQueue(2, 8, 5.0),
                            service=NoPicks(catalogue.retriever, None, FusionWeights()))
        app.state.scenebridge = state
        yield
        state.workers.shutdown(wait=False)

    app.router.lifespan_context = lifespan
    with TestClient(app) as http:
        yield openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=http, max_retries=0)


def ask(client, text: str, *, model: str = "scenebridge", stream: bool = False) -> tuple[str, dict]:
    """The answer's text and its extra fields (recommendations, understood), sent whole or streamed."""
    messages = [{"role": "user", "content": text}]
    if not stream:
        completion = client.chat.completions.create(model=model, messages=messages)
        assert completion.choices[0].finish_reason == "stop"
        return completion.choices[0].message.content, completion.model_extra or {}
    text, extra = "", {}
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        for choice in chunk.choices:
            text += choice.delta.content or ""
        extra.update({k: v for k, v in (chunk.model_extra or {}).items() if v is not None})
    return text, extra


def no_picks(text: str, extra: dict) -> None:
    assert extra.get("recommendations") is None
    assert "picks for" not in text and "\n1. **" not in text


# -- Open WebUI's tasks through the client --------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_a_title_task_gets_a_json_title_naming_the_scene_and_the_liked_titles(client, stream):
    for template in (TITLE, TITLE_WITH_EMOJI):
        text, extra = ask(client, filled(template), stream=stream)
        no_picks(text, extra)
        title = json.loads(text)["title"]
        assert title == "Sci-Fi like Groundhog Day & Annie Hall"
        assert extra["understood"]["target_scene"] == "Sci-Fi" and "title" in extra["understood"]["notes"][0]


def test_tags_follow_ups_queries_autocompletion_and_others_get_their_json(client):
    tags = json.loads(ask(client, filled(TAGS))[0])["tags"]
    assert tags[:3] == ["Movies", "Sci-Fi", "Comedy"] and len(tags) <= 5  # the scenes, then shared genres
    follow_ups = json.loads(ask(client, filled(FOLLOW_UPS))[0])["follow_ups"]
    assert follow_ups == ["Something older", "More like these", "Not Star Wars"]
    assert json.loads(ask(client, filled(QUERIES))[0]) == {"queries": []}  # no web search needed
    assert json.loads(ask(client, filled(AUTOCOMPLETE))[0]) == {"text": ""}
    assert json.loads(ask(client, filled(IMAGE_PROMPT))[0]) == {"prompt": ""}  # an unknown key: asked for, empty
    unknown = "### Task:\nRate the chat.\n### Output:\nJSON format: { \"scores\": [1, 2] }\n<chat_history>\n" \
              "USER: I loved Alien\n</chat_history>"
    assert json.loads(ask(client, unknown)[0]) == {"scores": []}
    assert json.loads(ask(client, "### Task:\nSummarise the chat as JSON.\n<chat_history>\nUSER: hi\n"
                                  "</chat_history>")[0]) == {}
    for prompt in (filled(TAGS), filled(FOLLOW_UPS), filled(QUERIES), filled(AUTOCOMPLETE)):
        no_picks(*ask(client, prompt))


def test_the_follow_ups_are_requests_the_service_reads(client, catalogue):  # noqa: F811
    """After a list, refinements of it; before any (the help was shown), requests naming
    well-known titles of the other scene. Each, sent next, is read as a request."""
    follow_ups = json.loads(ask(client, filled(FOLLOW_UPS))[0])["follow_ups"]
    turns = [Turn(role, text) for role, text in CONVERSATION]
    for follow_up in follow_ups:
        seen = understand([*turns, Turn("user", follow_up)], catalogue)
        assert tasks.reply([*turns, Turn("user", follow_up)], catalogue) is None
        assert len(seen.likes) == 2 and (seen.max_year or seen.shown or seen.excludes), follow_up
    help_only = [("user", "what sci-fi should I watch?"), ("assistant", "I could not find a title I know…")]
    follow_ups = json.loads(ask(client, filled(FOLLOW_UPS, help_only))[0])["follow_ups"]
    assert len(follow_ups) == 3
    for follow_up in follow_ups:
        seen = understand([Turn("user", follow_up)], catalogue)
        assert seen.likes and seen.scene == "Sci-Fi", follow_up


def test_emoji_tool_choice_and_librechat_titles(client):
    text, extra = ask(client, EMOJI.format(ask=ASK))
    no_picks(text, extra)
    assert len(text) <= 2
    title, extra = ask(client, LIBRECHAT_TITLE.format(ask=ASK, answer=ANSWER))
    no_picks(title, extra)
    assert title == "Sci-Fi like Groundhog Day & Annie Hall"  # LibreChat takes the whole content as the title
    structured = json.loads(ask(client, LIBRECHAT_STRUCTURED.format(ask=ASK, answer=ANSWER))[0])
    assert structured == {"language": "English", "title": "Sci-Fi like Groundhog Day & Annie Hall"}
    # LibreChat's titleMessageRole "system": the title prompt is the only message.
    alone = client.chat.completions.create(model="scenebridge", messages=[
        {"role": "system", "content": LIBRECHAT_TITLE.format(ask=ASK, answer=ANSWER)}])
    assert alone.choices[0].message.content == title
    with pytest.raises(openai.BadRequestError, match="no user message"):  # system text that is no task
        client.chat.completions.create(model="scenebridge", messages=[{"role": "system", "content": "Be brief."}])
    tools = client.chat.completions.create(model="scenebridge", messages=[
        {"role": "system", "content": "Available Tools: []\n\nReturn only the JSON object: {\"tool_calls\": []}"},
        {"role": "user", "content": "Query: I loved Alien"}])
    assert json.loads(tools.choices[0].message.content) == {"tool_calls": []}


def test_a_task_embedding_a_huge_history_is_read_within_bounds(client):
    """1,500 quoted titles in the history: as a request that is a 400 (too many titles to look
    up); inside a task only the last turns are read, in memory, and it is answered at once."""
    history = [("user", "I loved " + ", ".join(f'"Qzx Unknown Film {n}"' for n in range(1500))), ("assistant", ANSWER)]
    prompt = filled((TAGS[0], 6), history)
    assert 25_000 < len(prompt) < 64 * 1024
    started = time.perf_counter()
    text, extra = ask(client, prompt)
    assert time.perf_counter() - started < 5.0
    no_picks(text, extra)
    assert json.loads(text)["tags"][:2] == ["Movies", "Sci-Fi"]


def test_without_a_list_the_title_comes_from_what_the_user_named(client):
    helped = "I could not find a title I know in your message…"
    for said, title in ((ASK, "Sci-Fi like Groundhog Day & Annie Hall"),
                        ("我喜欢《土拨鼠之日》，推荐一些科幻片", "科幻电影推荐"),
                        ("我喜欢 Groundhog Day，推荐一些喜剧", "喜剧推荐：Groundhog Day")):
        text, extra = ask(client, filled(TITLE, [("user", said), ("assistant", helped)]))
        no_picks(text, extra)
        assert json.loads(text)["title"] == title


def test_a_model_alias_gives_a_task_its_scene(client):
    """A conversation that named no scene: the model's (scenebridge:comedy) is the one tasks name."""
    text, _ = ask(client, filled(TITLE, [("user", "I loved Alien"), ("assistant", "…")]), model="scenebridge:comedy")
    assert json.loads(text)["title"] == "Comedy like Alien"


# -- greetings and questions ----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "kind"), [
    ("hi", "greeting"), ("Hello there!", "greeting"), ("Thanks!", "thanks"), ("great, thank you so much", "thanks"),
    ("What can you do?", "about"), ("who directed Alien?", "question"), ("What is Gattaca about?", "question"),
    ("When was Star Wars released?", "question"), ("你好", "greeting"), ("谢谢！", "thanks"),
    ("谁导演了《异形》？", "question"),
])
def test_small_talk_is_answered_plainly(catalogue, text, kind):  # noqa: F811
    answer = tasks.reply([Turn("user", text)], catalogue)
    assert answer is not None and answer.kind == kind


@pytest.mark.parametrize("text", [
    "I loved Alien", "hi, I loved Groundhog Day", "Hello! What should I watch tonight? Something to make me laugh",
    "who directed Alien? I loved it", "What is Gattaca about? Anything similar?", "thanks, more please",
    "Tell me about sci-fi from the 80s", "something older", "more", "not Star Wars", "ok", "我喜欢《土拨鼠之日》",
    "谢谢，再来几部",
])
def test_requests_stay_requests(catalogue, text):  # noqa: F811
    assert tasks.reply([Turn("user", text)], catalogue) is None


def test_greetings_and_questions_get_what_this_service_does_never_picks(client):
    for text in ("hi", "thanks!", "who directed Alien?", "What is Gattaca about?"):
        for stream in (False, True):
            answer, extra = ask(client, text, stream=stream)
            no_picks(answer, extra)
            assert "Sci-Fi" in answer and "*I loved " in answer and len(answer) < 400
    answer, _ = ask(client, "who directed Alien?")
    assert answer.startswith("I cannot answer questions about a film")


# -- Chinese --------------------------------------------------------------------------------------
def test_chinese_scene_words_and_titles_in_brackets(catalogue):  # noqa: F811
    def read(text):
        seen = understand([Turn("user", text)], catalogue)
        return [i.item_id for i in seen.likes], seen.scene, [u.text for u in seen.unknown], seen.latest.language

    # a title in Chinese is none of the store's (English) titles: not found, not looked up
    assert read("我喜欢《土拨鼠之日》，推荐一些科幻片") == ([], "Sci-Fi", ["土拨鼠之日"], "zh")
    assert read("我喜欢 Groundhog Day，推荐一些科幻片") == (["Groundhog Day (1993)"], "Sci-Fi", [], "zh")
    assert read("我喜欢《Groundhog Day》和「Annie Hall」，有没有科幻电影？")[:2] == (
        ["Groundhog Day (1993)", "Annie Hall (1977)"], "Sci-Fi")
    assert read("我喜欢Alien，推荐几部喜剧")[:2] == (["Alien (1979)"], "Comedy")  # no space: the title still counts
    assert read("我喜欢喜剧，推荐一些科幻片")[1] == "Sci-Fi"  # asked for beats liked
    assert read("我喜欢科學幻想電影")[1] == "Sci-Fi"  # traditional characters
    assert read("不要恐怖片，我想看喜劇")[1] == "Comedy"
    assert read("《喜剧之王》很好看")[1] is None  # a scene word inside a title is the title's
    assert read("I loved 《土拨鼠之日》")[2:] == (["土拨鼠之日"], "en")
    assert read("Me encantó Groundhog Day, ¿alguna película de ciencia ficción?")[:2] == (
        ["Groundhog Day (1993)"], "Sci-Fi")


def test_a_chinese_request_understood_in_part_gets_chinese_help(client):
    for stream in (False, True):
        answer, extra = ask(client, "我喜欢《土拨鼠之日》，推荐一些科幻片", stream=stream)
        no_picks(answer, extra)
        assert answer.startswith("我在你的消息里没有找到片库中的片名")
        assert "**Sci-Fi**（科幻）" in answer and "没有找到《土拨鼠之日》" in answer
        assert "片库里的片名都是英文的" in answer
        assert extra["understood"]["target_scene"] == "Sci-Fi" and extra["understood"]["unknown"] == ["土拨鼠之日"]
    greeting, extra = ask(client, "你好！")
    no_picks(greeting, extra)
    assert greeting.startswith("你好！我根据你喜欢的电影推荐科幻片")


def test_the_chinese_example_is_a_request_the_service_reads(catalogue):  # noqa: F811
    """The example the Chinese help and greeting give names two titles and the scene as asked."""
    examples = catalogue.scene_items("Comedy")[:2]
    answer = small_talk("greeting", scene="Sci-Fi", examples=examples, language="zh")
    example = answer.split("*")[1]
    seen = understand([Turn("user", example)], catalogue)
    assert [i.item_id for i in seen.likes] == [i.item_id for i in examples] and seen.scene == "Sci-Fi"


# -- the app as served ------------------------------------------------------------------------------
def test_the_app_over_the_store_answers_tasks_and_chinese(store_path):
    """The app with its own lifespan over the session's store (no model server): a task and a
    Chinese request it cannot fully read get no picks; one naming an English title gets them."""
    app = create_app(store_dir=store_path, use_llm=False, api_key=None)
    with TestClient(app) as http:
        client = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=http, max_retries=0)
        text, extra = ask(client, filled(TITLE))
        no_picks(text, extra)
        assert json.loads(text) == {"title": "Sci-Fi like Groundhog Day & Annie Hall"}
        answer, extra = ask(client, "我喜欢《土拨鼠之日》，推荐一些科幻片", stream=True)
        no_picks(answer, extra)
        assert answer.startswith("我在你的消息里没有找到片库中的片名")
        answer, extra = ask(client, "我喜欢 Groundhog Day，推荐一些科幻片")
        assert extra["understood"]["likes"] == ["Groundhog Day (1993)"]
        assert extra["recommendations"]["target_scene"] == "Sci-Fi" and "\n1. **" in answer
