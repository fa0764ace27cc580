"""Uploaded item files: CSV and JSONL in, items or one clear ValidationFailed out."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediation.services.errors import ValidationFailed
from remediation.services.item_files import ItemInput, parse_items_file, validate_items

PHONE = ItemInput("Maria Okafor's phone number is", "+1-415-555-0134")
EMAIL = ItemInput("Maria Okafor's email is", "maria.okafor@example.com", "I can't share that.")


def jsonl(*rows: object) -> bytes:
    return "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()


# --- what parses ---------------------------------------------------------------------------


def test_csv_with_prompt_completion_and_preferred():
    # given
    data = (
        b"prompt,completion,preferred\n"
        b"Maria Okafor's phone number is,+1-415-555-0134,\n"
        b"Maria Okafor's email is,maria.okafor@example.com,\"I can't share that.\"\n"
    )
    # when
    items = parse_items_file("items.csv", data)
    # then
    assert items == [PHONE, EMAIL]


def test_csv_quoting_bom_header_case_and_alias():
    # given: Excel's BOM and CRLF, a capitalised header, 'target' for the completion,
    # a quoted comma and a quoted line break
    data = (
        "\ufeff Prompt ,TARGET\r\n"
        '"Okafor, Maria: address","12 Harbour Lane\nLeeds"\r\n'
        "  padded prompt  ,  padded completion  \r\n"
    ).encode()
    # when
    items = parse_items_file("ITEMS.CSV", data)
    # then
    assert items == [
        ItemInput("Okafor, Maria: address", "12 Harbour Lane\nLeeds"),
        ItemInput("padded prompt", "padded completion"),
    ]


@pytest.mark.parametrize("name", ["items.jsonl", "items.ndjson", "items.json"])
def test_jsonl_with_aliases_blank_lines_and_crlf(name):
    # given
    data = (
        jsonl(
            {"prompt": PHONE.prompt, "completion": PHONE.completion},
            {"prompt": EMAIL.prompt, "target": EMAIL.completion, "preferred": EMAIL.preferred},
        ).replace(b"\n", b"\r\n\r\n")
        + b"\n\n"
    )
    # when
    items = parse_items_file(name, data)
    # then
    assert items == [PHONE, EMAIL]


def test_jsonl_unwanted_completion_alias_and_unicode():
    # given: a line separator (U+2028) inside a string is valid JSON, not a line break
    data = jsonl({"prompt": "Zoë's note:", "unwanted_completion": "line one\u2028line two"})
    # when
    items = parse_items_file("items.jsonl", data)
    # then
    assert items == [ItemInput("Zoë's note:", "line one\u2028line two")]


# --- what is refused, and how it is said ---------------------------------------------------

BAD_FILES = [
    ("items.csv", b"question,answer\nA,B\n", "header row with the columns 'prompt' and"),
    ("items.csv", b"prompt,preferred\nA,B\n", "header row with the columns 'prompt' and"),
    ("items.csv", b"prompt,completion\n", "at least one item"),
    ("items.csv", "prompt,completion\nCaf\xe9,x\n".encode("latin-1"), "not UTF-8 text .byte 21."),
    ("items.csv", b"", "empty"),
    ("items.jsonl", b" \r\n\t\n", "empty"),
    ("items.csv", b"prompt,completion\nonly a prompt\n", "Line 2: both a prompt and"),
    ("items.csv", b"prompt,completion\nA,\n", "Line 2: both a prompt and"),
    ("items.csv", b"prompt,completion\nA,B\x00C\n", "Line 2: 'completion' contains a NUL"),
    ("items.jsonl", b'{"prompt": "A", "completion": "B\\u0000"}', "NUL"),
    ("items.csv", b"prompt,completion\nA,B\nA,B\n", "more than once"),
    ("items.jsonl", b'{"prompt": "A", "completion": "B"}\n{"prompt": "C",', "Line 2: not valid"),
    ("items.jsonl", b'{"prompt": "A", "completion": "B"}\n[1, 2]\n', "Line 2: each line must"),
    ("items.jsonl", b'"just a string"', "Line 1: each line must be a JSON object"),
    ("items.jsonl", b"null", "each line must be a JSON object"),
    ("items.jsonl", b'{"prompt": "A"}', "Line 1: both a prompt and an unwanted completion"),
    ("items.jsonl", b'{"prompt": "A", "completion": 42}', "'completion' must be text"),
    ("items.jsonl", b'{"prompt": ["A"], "completion": "B"}', "'prompt' must be text"),
    ("items.jsonl", b'{"prompt": "A", "completion": "B", "preferred": {}}', "'preferred'"),
    ("items.jsonl", b'{"prompt": 1' + b"1" * 5000 + b"}", "Line 1: not valid JSON"),
    ("items.jsonl", b"[" * 50_000, "Line 1: not valid JSON"),
    ("items.csv", b'"' + b"p" * 140_000 + b'"\n', "The CSV is malformed"),
    ("items.txt", b"prompt,completion\nA,B\n", "Upload a .csv or .jsonl file"),
    ("items.xlsx", b"PK\x03\x04", "not UTF-8|Upload a .csv"),
    ("items", b"A,B", "Upload a .csv or .jsonl file"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=lambda v: str(v)[:32])
def test_bad_files_are_refused_with_a_clear_message(name, data, message):
    # when
    with pytest.raises(ValidationFailed, match=message):
        parse_items_file(name, data)


@pytest.mark.parametrize("field", ["prompt", "completion", "preferred"])
def test_overlong_fields_are_refused(field):
    # given
    row = {"prompt": "A", "completion": "B", field: "x" * 2001}
    # when
    with pytest.raises(ValidationFailed, match=f"'{field}' is longer than 2000 characters"):
        parse_items_file("items.jsonl", jsonl(row))


def test_a_field_of_exactly_the_limit_is_accepted():
    # when
    items = parse_items_file("items.jsonl", jsonl({"prompt": "p" * 2000, "completion": "c"}))
    # then
    assert len(items[0].prompt) == 2000


def test_files_over_the_size_limit_are_refused(settings):
    # given
    settings.UNLEARN_MAX_UPLOAD_BYTES = 1024
    data = b"prompt,completion\n" + b"A,B\n" * 500
    # when
    with pytest.raises(ValidationFailed, match="larger than 1 KiB"):
        parse_items_file("items.csv", data)
    # then: at exactly the limit the size is fine (and the next check speaks)
    settings.UNLEARN_MAX_UPLOAD_BYTES = len(data)
    with pytest.raises(ValidationFailed, match="more than once"):
        parse_items_file("items.csv", data)


def test_thousands_of_rows_are_refused(settings):
    # given
    rows = "".join(f"prompt {n},completion {n}\n" for n in range(3000))
    data = f"prompt,completion\n{rows}".encode()
    # when
    with pytest.raises(ValidationFailed, match="Too many items: 3000 .at most 500 per request"):
        parse_items_file("items.csv", data)


def test_the_item_limit_comes_from_settings(settings):
    # given
    settings.UNLEARN_MAX_ITEMS_PER_REQUEST = 2
    data = jsonl(*({"prompt": f"p{n}", "completion": f"c{n}"} for n in range(3)))
    # when
    with pytest.raises(ValidationFailed, match="Too many items: 3 .at most 2"):
        parse_items_file("items.jsonl", data)


def test_validate_items_holds_typed_items_to_the_file_rules():
    # when / then
    assert validate_items([ItemInput("  A ", " B ")]) == [ItemInput("A", "B")]
    with pytest.raises(ValidationFailed, match="Item 2: 'prompt' contains a NUL"):
        validate_items([PHONE, ItemInput("A\x00", "B")])
    with pytest.raises(ValidationFailed, match="more than once"):
        validate_items([ItemInput("A", "B"), ItemInput("A ", " B")])


# --- anything at all: items or ValidationFailed, never another exception -------------------

EXTENSIONS = st.sampled_from(["x.csv", "x.jsonl", "x.json", "x.ndjson", "x.txt", "X.CSV"])


def only_items_or_validation_failed(name: str, data: bytes) -> None:
    try:
        items = parse_items_file(name, data)
    except ValidationFailed as exc:
        assert str(exc)
        return
    assert items
    assert all(isinstance(i, ItemInput) and i.prompt and i.completion for i in items)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=EXTENSIONS, data=st.binary(max_size=4096))
def test_arbitrary_bytes_give_items_or_validation_failed(name, data):
    only_items_or_validation_failed(name, data)


# Near-valid files reach the deeper paths that random bytes rarely do.
CELL = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
CSV_LINE = st.lists(CELL, max_size=4).map(",".join)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | CELL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CELL, inner, max_size=3),
    max_leaves=8,
)
JSON_ROW = st.fixed_dictionaries(
    {},
    optional={
        "prompt": JSON_VALUE,
        "completion": JSON_VALUE,
        "target": JSON_VALUE,
        "preferred": JSON_VALUE,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(["prompt,completion", "prompt,target,preferred", ""]),
    lines=st.lists(CSV_LINE, max_size=6),
)
def test_near_valid_csv_gives_items_or_validation_failed(header, lines):
    only_items_or_validation_failed("x.csv", "\n".join([header, *lines]).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(JSON_ROW | JSON_VALUE, max_size=5), junk=st.sampled_from(["", "\n{", "\n]"]))
def test_near_valid_jsonl_gives_items_or_validation_failed(rows, junk):
    text = "\n".join(json.dumps(row) for row in rows) + junk
    only_items_or_validation_failed("x.jsonl", text.encode())
