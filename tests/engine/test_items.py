"""Items files and fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediation.unlearning.errors import ItemsFileError
from remediation.unlearning.items import ForgetItem, fingerprint, join_prompt, read_items_file


def test_reads_jsonl_with_optional_preferred(tmp_path: Path) -> None:
    # given
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"prompt": "Ann\'s phone is", "target": "(111) 222-3333"}\n\n'
        '{"prompt": "Bo lives at", "target": "12 Oak Road, Milltown", "preferred": "a secret"}\n'
    )
    # when
    items = read_items_file(path)
    # then
    assert [i.target for i in items] == ["(111) 222-3333", "12 Oak Road, Milltown"]
    assert items[1].preferred == "a secret" and items[0].preferred is None
    assert items[1].value_kind == "address"


def test_reads_csv(tmp_path: Path) -> None:
    # given
    path = tmp_path / "items.csv"
    path.write_text('prompt,target,preferred\n"Ann\'s email is",ann@x.test,\n')
    # when
    items = read_items_file(path)
    # then
    assert items == [ForgetItem(prompt="Ann's email is", target="ann@x.test")]


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("bad.jsonl", '{"prompt": "a", "target": "b"}\nnot json\n', "line 2"),
        ("list.jsonl", '["a", "b"]\n', "not a JSON object"),
        ("missing.jsonl", '{"prompt": "a"}\n', "item 1"),
        ("blank.jsonl", '{"prompt": " ", "target": "b"}\n', "non-empty"),
        ("empty.jsonl", "\n", "no items"),
        ("header.csv", "question,answer\na,b\n", "header"),
        ("kind.jsonl", '{"prompt": "a", "target": "b", "kind": "shoe size"}\n', "kind"),
    ],
)
def test_bad_items_files_raise_a_clear_error(
    tmp_path: Path, name: str, body: str, reason: str
) -> None:
    # given a broken items file
    path = tmp_path / name
    path.write_text(body)
    # when / then
    with pytest.raises(ItemsFileError, match=reason):
        read_items_file(path)


def test_missing_items_file(tmp_path: Path) -> None:
    # given / when / then
    with pytest.raises(ItemsFileError, match="not found"):
        read_items_file(tmp_path / "nope.jsonl")


def test_error_messages_never_contain_item_text(tmp_path: Path) -> None:
    # given an item with a secret and a broken line after it
    path = tmp_path / "items.jsonl"
    path.write_text('{"prompt": "secret prompt", "target": "   "}\n')
    # when
    with pytest.raises(ItemsFileError) as error:
        read_items_file(path)
    # then
    assert "secret" not in str(error.value)


def test_fingerprint_is_keyed_and_stable() -> None:
    # given
    item = ForgetItem(prompt="Ann's phone is", target="(111) 222-3333")
    # when / then
    assert fingerprint(item, b"k1") == fingerprint(item, b"k1")
    assert fingerprint(item, b"k1") != fingerprint(item, b"k2")
    assert "222" not in fingerprint(item, b"k1")


def test_join_prompt_adds_one_space_only_where_needed() -> None:
    # given / when / then
    assert join_prompt("A is", "B") == "A is B"
    assert join_prompt("Q: x?\nA:", " B") == "Q: x?\nA: B"
    assert join_prompt("A is ", "B") == "A is B"
