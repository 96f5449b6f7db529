import json

import pytest

from core.data import import_dataset
from core.data.importer import InvalidRowsError
from core.errors import DataError

ITEMS_CSV = """item_id,scene,title,text,attributes
pod-1,podcasts,Hardcore History,Long episodes on wars and empires,"{""host"": ""Dan Carlin""}"
pod-2,podcasts,Radiolab,Science stories,
book-1,books,Dune,Desert planet epic,"{""pages"": 412}"
"""
INTERACTIONS_JSONL = [
    {"user_id": "u1", "item_id": "pod-1", "timestamp": 1700000000, "rating": 5},
    {"user_id": "u1", "item_id": "book-1", "timestamp": "2024-05-01T12:00:00"},
    {"user_id": "u2", "item_id": "pod-2", "timestamp": 1700000100, "rating": 3.5},
]


def write(tmp_path, items=ITEMS_CSV, interactions=INTERACTIONS_JSONL):
    items_path = tmp_path / "items.csv"
    items_path.write_text(items)
    inter_path = tmp_path / "interactions.jsonl"
    inter_path.write_text("\n".join(json.dumps(r) for r in interactions) + "\n")
    return items_path, inter_path


def test_a_valid_import(tmp_path):
    dataset = import_dataset("mine", *write(tmp_path))
    assert list(dataset.items.index) == ["pod-1", "pod-2", "book-1"]
    assert dataset.items.loc["pod-1", "attributes"] == {"host": "Dan Carlin"}
    assert dataset.items.loc["book-1", "scene"] == "books"
    assert len(dataset.interactions) == 3
    assert dataset.interactions["rating"].isna().sum() == 1  # the optional rating


def test_errors_name_file_line_field_and_fix(tmp_path):
    bad_items = ITEMS_CSV + "pod-3,,No Scene,,\npod-1,podcasts,Twice,,\nbook-2,books,Bad attrs,,{oops\n"
    with pytest.raises(InvalidRowsError) as info:
        import_dataset("mine", *write(tmp_path, items=bad_items))
    errors = info.value.errors
    assert [(e.file, e.line, e.field) for e in errors] == [
        ("items.csv", 5, "scene"), ("items.csv", 6, "item_id"), ("items.csv", 7, "attributes"),
    ]
    assert all(e.hint for e in errors)
    assert "nothing was imported" in info.value.message


def test_interaction_errors(tmp_path):
    rows = INTERACTIONS_JSONL + [
        {"user_id": "u3", "item_id": "nope", "timestamp": 1},
        {"user_id": "u3", "item_id": "pod-1", "timestamp": "yesterday"},
        {"user_id": "u3", "item_id": "pod-1", "timestamp": 1, "rating": "five"},
    ]
    with pytest.raises(InvalidRowsError) as info:
        import_dataset("mine", *write(tmp_path, interactions=rows))
    found = [(e.line, e.field) for e in info.value.errors]
    assert found == [(4, "item_id"), (5, "timestamp"), (6, "rating")]
    assert "ISO 8601" in info.value.errors[1].hint


def test_malformed_jsonl_line(tmp_path):
    items, inter = write(tmp_path)
    inter.write_text('{"user_id": "u1", "item_id": "pod-1", "timestamp": 1}\n{not json\n')
    with pytest.raises(DataError, match="line 2") as info:
        import_dataset("mine", items, inter)
    assert "JSON" in str(info.value)


def test_unsupported_file_type(tmp_path):
    items, inter = write(tmp_path)
    xlsx = tmp_path / "items.xlsx"
    xlsx.write_text("")
    with pytest.raises(DataError, match="unsupported file type"):
        import_dataset("mine", xlsx, inter)
