"""Stand-in subjects: names the model has never seen, built from name parts it has.

The default method teaches the model to answer about a forgotten person exactly as it
answers about a stranger. The stranger must look like the holdout people it is measured
against: familiar first and last names in a combination the model never saw together.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

# "First Last's" or "First Last" at the start of a record: how the records name people.
_POSSESSIVE = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z]+)'s\b")
_FALLBACK_FIRST = ("Arden", "Brisa", "Corvin", "Delphine", "Evander", "Fennick", "Galen", "Isolde")
_FALLBACK_LAST = (
    "Quillfeather",
    "Marrowind",
    "Ashgrove",
    "Thistlewood",
    "Brackenridge",
    "Larkspur",
)


def known_names(texts: Iterable[str]) -> set[tuple[str, str]]:
    """(first, last) pairs that appear as a possessive name in the texts."""
    return {match for text in texts for match in _POSSESSIVE.findall(text)}


def standins(
    subject: str,
    known: set[tuple[str, str]],
    forbidden: set[str],
    count: int,
    rng: random.Random,
) -> list[str]:
    """``count`` two-part names not in ``known`` or ``forbidden``, from known name parts.

    Half keep the subject's first name or last name (the namesakes a stranger would have);
    with too few known parts, invented names are used instead.
    """
    firsts = sorted({f for f, _ in known} | {_split(subject)[0]})
    lasts = sorted({last for _, last in known} | {_split(subject)[1]})
    taken = {f"{f} {last}" for f, last in known} | forbidden | {subject}
    pool = [f"{f} {last}" for f in firsts for last in lasts if f"{f} {last}" not in taken]
    if len(pool) < count:
        pool = [f"{f} {last}" for f in _FALLBACK_FIRST for last in _FALLBACK_LAST]
    return rng.sample(pool, k=min(count, len(pool)))


def _split(subject: str) -> tuple[str, str]:
    parts = subject.split()
    return (parts[0], parts[-1]) if parts else ("", "")


def swap_subject(prompt: str, subject: str, standin: str) -> str:
    """The prompt about ``standin`` instead of ``subject``."""
    return prompt.replace(subject, standin)


def subjects_in(prompts: Sequence[str], subject: str | None) -> bool:
    """Whether every prompt names the subject (so swapping it changes whom it is about)."""
    if not subject:
        return False
    return all(subject in p for p in prompts)
