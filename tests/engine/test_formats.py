"""Value formats: kind detection and format-aware candidates."""

from __future__ import annotations

import random
import re

import pytest

from remediation.unlearning.formats import candidates, detect_kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("(415) 738-0134", "phone"),
        ("+1-415-555-0134", "phone"),
        ("cedar.moss42@mailbox.test", "email"),
        ("March 4, 1985", "date"),
        ("1985-03-04", "date"),
        ("742 Maple Avenue, Riverton", "address"),
        ("a confidential sentence", "text"),
    ],
)
def test_detect_kind(value: str, kind: str) -> None:
    # given a value / when / then
    assert detect_kind(value) == kind


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("(415) 738-0134", r"^\(\d{3}\) \d{3}-\d{4}$"),
        ("cedar.moss42@mailbox.test", r"^[a-z]+\.[a-z]+\d{2}@[a-z]+\.test$"),
        ("March 4, 1985", r"^[A-Z][a-z]+ \d{1,2}, \d{4}$"),
        ("742 Maple Avenue, Riverton", r"^[1-9]\d{2} [A-Z][a-z]+ [A-Z][a-z]+, [A-Z][a-z]+$"),
        ("Ab-12 x", r"^[A-Z][a-z]-\d{2} [a-z]$"),
    ],
)
def test_candidates_share_the_format_and_exclude_the_value(value: str, shape: str) -> None:
    # given a value of some format
    # when
    found = candidates(value, None, 200, random.Random(1))
    # then: distinct, same shape, never the value itself
    assert len(found) == len(set(found)) == 200
    assert value not in found
    assert all(re.match(shape, c) for c in found)


def test_employer_candidates_come_from_the_employer_pools() -> None:
    # given / when
    found = candidates("Bright Harbor Logistics", "employer", 1000, random.Random(0))
    # then
    assert len(found) == 1000
    assert all(len(c.split()) == 3 for c in found)


def test_candidates_are_deterministic_under_a_seed() -> None:
    # given / when / then
    assert candidates("(415) 738-0134", None, 5, random.Random(7)) == candidates(
        "(415) 738-0134", None, 5, random.Random(7)
    )
