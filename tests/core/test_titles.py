from hypothesis import given
from hypothesis import strategies as st

from core.titles import LOOKALIKE, display_title, normalize_title, shown_title, split_year, title_similarity, title_words


def test_year_is_split_off():
    assert split_year("Toy Story (1995)") == ("Toy Story", 1995)
    assert split_year("Untitled") == ("Untitled", None)


def test_moved_articles_come_back_to_the_front():
    assert display_title("American President, The") == "The American President"
    assert display_title("City of Lost Children, The (Cité des enfants perdus, La)") == (
        "The City of Lost Children (Cité des enfants perdus, La)"
    )
    assert normalize_title("American President, The (1995)") == normalize_title("the american president")


@given(st.text(max_size=60))
def test_normalisation_is_idempotent_and_plain(text):
    once = normalize_title(text)
    assert normalize_title(once) == once
    assert all(c.isascii() for c in once)


def test_one_way_to_show_an_item():
    from core.domain import Item

    assert shown_title(Item(item_id="x", title="American President, The", year=1995)) == (
        "The American President (1995)")
    assert shown_title(Item(item_id="y", title="Untitled")) == "Untitled"


def test_title_words_fold_accents_and_drop_punctuation():
    assert title_words("Amélie: Le Fabuleux Destin!") == ("amelie", "le", "fabuleux", "destin")
    assert normalize_title("Amélie (2001)") == " ".join(title_words("Amélie"))


def test_similarity_forgives_left_out_words_but_not_a_description():
    assert title_similarity("terminator 2", "terminator 2 judgment day") == 100
    assert title_similarity("a crew hunted by a creature", "hunted") < LOOKALIKE
    assert title_similarity("groundhog day", "groundhog day") == 100


@given(st.text(max_size=40), st.text(max_size=40))
def test_similarity_is_bounded(a, b):
    assert 0 <= title_similarity(a, b) <= 100


def test_one_threshold_decides_when_a_typed_title_is_an_item(monkeypatch):
    from core.settings import Settings

    assert Settings().title_match == 85.0
    monkeypatch.setenv("SCENEBRIDGE_TITLE_MATCH", "101")
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="title_match"):
        Settings()
