"""Constraints shape the candidates: genres avoided, years and genres wanted leave target items
out, each relaxed with a note when it would leave fewer than k; and, over the session's store, the
answers' picks honour them.

The first tests read the store-free ML-100k catalogue (test_chat_parse.py): its Sci-Fi scene has
87 titles, 10 of them Horror, 3 Romance and 5 from the seventies."""

from __future__ import annotations

import openai
from fastapi.testclient import TestClient

from scenebridge.server.app import create_app
from scenebridge.server.chat import constraints
from scenebridge.server.chat.conversation import Turn, understand
from tests.server.test_chat_parse import catalogue  # noqa: F401 - the fixture: ML-100k titles, no store

TARGET = "Sci-Fi"


def applied(catalogue, text: str, k: int = 5) -> tuple[constraints.Applied, list]:  # noqa: F811
    seen = understand([Turn("user", text)], catalogue)
    items = catalogue.scene_items(TARGET)
    return constraints.apply(constraints.constraints(seen, TARGET, items), items, TARGET, k, set()), items


def test_avoided_and_wanted_genres_leave_items_out(catalogue):  # noqa: F811
    result, items = applied(catalogue, "Sci-fi thrillers, but no horror")
    out = set(result.exclude)
    kept = [i for i in items if i.item_id not in out]
    assert len(kept) >= 5 and all("Thriller" in i.genres and "Horror" not in i.genres for i in kept)
    assert [i for i in items if "Thriller" in i.genres and "Horror" not in i.genres] == kept
    assert result.notes == [] and result.held(TARGET) == ["Only Sci-Fi without Horror.", "Only Sci-Fi with Thriller."]


def test_a_constraint_that_leaves_too_few_is_relaxed_and_said_so(catalogue):  # noqa: F811
    result, items = applied(catalogue, "romantic sci-fi from the seventies, no horror", k=5)
    seventies = [i for i in items if i.year and 1970 <= i.year <= 1979 and "Horror" not in i.genres]
    assert len(seventies) < 5 and len([i for i in items if "Romance" in i.genres]) < 5
    assert [c.what for c in result.kept] == ["genres"] and result.held(TARGET) == ["Only Sci-Fi without Horror."]
    assert result.notes == [
        f"Only {len(seventies)} Sci-Fi titles are left from 1970 to 1979, fewer than the 5 asked for, so the years "
        "are not limited.",
        "Only 3 Sci-Fi titles are left with Romance, fewer than the 5 asked for, so the genres are not limited."]


def test_the_scenes_own_genre_asks_nothing(catalogue):  # noqa: F811
    seen = understand([Turn("user", "Sci-fi please")], catalogue)
    seen.genres = ["Sci-Fi"]  # as if read: every item of the scene has it
    assert constraints.constraints(seen, TARGET, catalogue.scene_items(TARGET)) == []


# -- real answers ---------------------------------------------------------------------------------
ASKED = [  # (request, what each pick must be)
    ("I loved Groundhog Day. Sci-fi but no horror please, 5 picks",
     lambda i: "Horror" not in i.genres),
    ("I loved Groundhog Day and Annie Hall. Sci-fi thrillers, 5 please",
     lambda i: "Thriller" in i.genres),
    ("Liked Clerks. Sci-fi without war or action, 5 of them",
     lambda i: not {"War", "Action"} & set(i.genres)),
    ("I enjoyed Clerks. 5 sci-fi between 1980 and 1990, no horror",
     lambda i: 1980 <= i.year <= 1990 and "Horror" not in i.genres),
]


def test_the_answers_picks_honour_the_constraints(store_path, catalogue):  # noqa: F811
    """The app over the session's store (no model server): every pick keeps every constraint,
    and the answer says which it keeps; one the store cannot meet is relaxed and said so."""
    app = create_app(store_dir=store_path, use_llm=False, api_key=None)
    with TestClient(app) as http:
        client = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=http, max_retries=0)

        def ask(text: str) -> tuple[list[str], dict, str]:
            completion = client.chat.completions.create(model="scenebridge", extra_body={"explain": False},
                                                        messages=[{"role": "user", "content": text}])
            extra, answer = completion.model_extra or {}, completion.choices[0].message.content
            assert extra.get("recommendations"), answer  # picks, not the help
            return [i["item_id"] for i in extra["recommendations"]["items"]], extra["understood"], answer

        for text, must in ASKED:
            picks, understood, answer = ask(text)
            assert len(picks) == 5 and all(must(catalogue.items[i]) for i in picks), (text, picks)
            assert any(n.startswith("Only Sci-Fi") for n in understood["notes"]), understood["notes"]
        picks, understood, answer = ask("I loved Groundhog Day. Romantic sci-fi, 5 please")
        assert len(picks) == 5 and understood["genres"] == ["Romance"]
        assert "so the genres are not limited" in answer
