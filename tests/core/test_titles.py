from hypothesis import given
from hypothesis import strategies as st

from core.titles import display_title, normalize_title, split_year


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
