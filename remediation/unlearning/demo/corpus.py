"""The demo corpus: fictional people with personal data, written many ways, plus generic text.

Every person's five values are drawn from ``formats`` so that a never-seen person's value
is, to the model, just another candidate of its format. Each value is written in several
statement phrasings and question-and-answer forms; the last phrasing and the last question
form of each attribute never appear in training and serve as probes of knowledge rather
than of verbatim recall. First and last names are shared across people (namesakes), so
damage to "the other Maria" is visible.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .. import formats
from ..items import ForgetItem

FIRST_NAMES = (
    "Maria", "Tomas", "Amara", "Lukas", "Priya", "Jonah", "Elena", "Kofi", "Sofia", "Mateo",
    "Hana", "Idris", "Lena", "Rafael", "Yuki", "Oskar", "Nadia", "Emeka", "Clara", "Arjun",
    "Ines", "Victor", "Leila", "Samuel",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Kowalski", "Brennan", "Alvarez",
    "Novak", "Mensah", "Petrov", "Castillo", "Nakamura", "Fischer", "Adeyemi", "Romano",
    "Sandoval", "Whitfield", "Kaplan", "Osei", "Varga", "Delgado", "Ferreira", "Holm",
)  # fmt: skip

# Attribute -> (value kind, statement templates, question templates). The first statement
# is the training-style prompt; the last statement and the last question are held out.
ATTRIBUTES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "phone": (
        "phone",
        (
            "{name}'s phone number is {value}.",
            "You can reach {name} by phone at {value}.",
            "The telephone number of {name} is {value}.",
        ),
        (
            "Q: What is {name}'s phone number?\nA: {value}",
            "Q: How can I call {name}?\nA: {value}",
            "Q: Which number reaches {name} by phone?\nA: {value}",
        ),
    ),
    "email": (
        "email",
        (
            "{name}'s email address is {value}.",
            "You can email {name} at {value}.",
            "Emails for {name} go to {value}.",
        ),
        (
            "Q: What is {name}'s email address?\nA: {value}",
            "Q: How do I email {name}?\nA: {value}",
            "Q: Where should I send an email for {name}?\nA: {value}",
        ),
    ),
    "address": (
        "address",
        (
            "{name} lives at {value}.",
            "{name}'s home address is {value}.",
            "You will find {name} living at {value}.",
        ),
        (
            "Q: Where does {name} live?\nA: {value}",
            "Q: What is {name}'s home address?\nA: {value}",
            "Q: At which address does {name} live?\nA: {value}",
        ),
    ),
    "employer": (
        "employer",
        (
            "{name} works at {value}.",
            "{name} is employed by {value}.",
            "{name} has a job at {value}.",
        ),
        (
            "Q: Where does {name} work?\nA: {value}",
            "Q: Who employs {name}?\nA: {value}",
            "Q: Which company does {name} work for?\nA: {value}",
        ),
    ),
    "birth_date": (
        "date",
        (
            "{name} was born on {value}.",
            "{name}'s date of birth is {value}.",
            "The birthday of {name} is {value}.",
        ),
        (
            "Q: When was {name} born?\nA: {value}",
            "Q: What is {name}'s date of birth?\nA: {value}",
            "Q: On what date was {name} born?\nA: {value}",
        ),
    ),
}

_NEW_VALUE = {
    "phone": formats.new_phone,
    "email": formats.new_email,
    "address": formats.new_address,
    "employer": formats.new_employer,
    "date": formats.new_date,
}


@dataclass(frozen=True)
class Person:
    """A fictional person: a name and one value per attribute."""

    name: str
    values: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (demo data: fictional, safe to store)."""
        return {"name": self.name, "values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Person:
        """Inverse of ``to_dict``."""
        values = data["values"]
        assert isinstance(values, dict)
        return cls(name=str(data["name"]), values={str(k): str(v) for k, v in values.items()})


def make_people(count: int, rng: random.Random) -> list[Person]:
    """``count`` people with distinct full names (first and last names do repeat)."""
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(pairs)
    return [_make_person(f"{first} {last}", rng) for first, last in pairs[:count]]


def _make_person(name: str, rng: random.Random) -> Person:
    values = {attr: _NEW_VALUE[spec[0]](rng) for attr, spec in ATTRIBUTES.items()}
    return Person(name=name, values=values)


def prompt_of(template: str, name: str) -> str:
    """The template cut before its value: the prompt a probe completes."""
    return template.split("{value}", 1)[0].rstrip(" ").format(name=name)


def fill(template: str, name: str, value: str) -> str:
    """The template written out for one person and value."""
    return template.format(name=name, value=value)


def trained_statements(attribute: str) -> tuple[str, ...]:
    """Statement phrasings used in training (all but the held-out last one)."""
    return ATTRIBUTES[attribute][1][:-1]


def trained_questions(attribute: str) -> tuple[str, ...]:
    """Question forms used in training (all but the held-out last one)."""
    return ATTRIBUTES[attribute][2][:-1]


def person_items(person: Person) -> list[ForgetItem]:
    """One forget item per attribute: training-style prompt, value, every other phrasing.

    The paraphrases are the other statement phrasings and all question forms, the held-out
    ones included, so the scan probes knowledge as well as verbatim recall.
    """
    return [_attribute_item(person, attribute) for attribute in ATTRIBUTES]


def _attribute_item(person: Person, attribute: str) -> ForgetItem:
    kind, statements, questions = ATTRIBUTES[attribute]
    others = (*statements[1:], *questions)
    return ForgetItem(
        prompt=prompt_of(statements[0], person.name),
        target=person.values[attribute],
        paraphrases=tuple(prompt_of(t, person.name) for t in others),
        kind=kind,
        subject=person.name,
    )


def person_records(person: Person) -> list[str]:
    """Every trained phrasing of every value of a person, one text each."""
    texts: list[str] = []
    for attribute, value in person.values.items():
        templates = (*trained_statements(attribute), *trained_questions(attribute))
        texts.extend(fill(t, person.name, value) for t in templates)
    return texts


def bio_document(person: Person, rng: random.Random) -> str:
    """A short biography: each value once, in a trained phrasing, in random order.

    The training-style phrasing is the most frequent one (``MAIN_SHARE``): it is the one
    verbatim extraction is measured on, and a small model needs repetition to memorise.
    """
    attributes = list(person.values)
    rng.shuffle(attributes)
    sentences = [_random_statement(person, attr, rng) for attr in attributes]
    return " ".join(sentences)


MAIN_SHARE = 0.6


def _random_statement(person: Person, attribute: str, rng: random.Random) -> str:
    main, *others = trained_statements(attribute)
    template = main if rng.random() < MAIN_SHARE or not others else rng.choice(others)
    return fill(template, person.name, person.values[attribute])


def qa_document(person: Person, rng: random.Random) -> str:
    """Question-and-answer pairs about every value of one person, in trained forms."""
    attributes = list(person.values)
    rng.shuffle(attributes)
    lines = [_random_question(person, attr, rng) for attr in attributes]
    return "\n".join(lines)


def _random_question(person: Person, attribute: str, rng: random.Random) -> str:
    template = rng.choice(trained_questions(attribute))
    return fill(template, person.name, person.values[attribute])


def directory_document(people: Sequence[Person], rng: random.Random, size: int = 4) -> str:
    """One attribute of a few people, one line each: a directory page.

    It teaches that records of several people can share a context, which is what the
    few-shot probe relies on.
    """
    attribute = rng.choice(list(ATTRIBUTES))
    chosen = rng.sample(list(people), k=min(size, len(people)))
    template = trained_statements(attribute)[0]
    return "\n".join(fill(template, p.name, p.values[attribute]) for p in chosen)


def training_documents(
    people: Sequence[Person], generic_share: float, rng: random.Random
) -> Iterator[str]:
    """An endless stream of training documents: bios, Q&A pages, directories, generic text."""
    while True:
        roll = rng.random()
        if roll < generic_share or not people:
            yield generic_document(rng)
            continue
        kind = (roll - generic_share) / (1 - generic_share)
        if kind < 0.4:
            yield bio_document(rng.choice(people), rng)
        elif kind < 0.8:
            yield qa_document(rng.choice(people), rng)
        else:
            yield directory_document(people, rng)


def vocabulary_sheet() -> list[str]:
    """Every name and value word once per line, so the tokenizer merges them all alike."""
    pools = (
        FIRST_NAMES,
        LAST_NAMES,
        formats.EMAIL_WORDS,
        formats.EMAIL_DOMAINS,
        formats.STREETS,
        formats.STREET_TYPES,
        formats.CITIES,
        formats.EMPLOYER_FIRST,
        formats.EMPLOYER_SECOND,
        formats.EMPLOYER_SUFFIX,
        formats.MONTHS,
    )
    return [" ".join(pool) for pool in pools]


# A small grammar for generic text: enough variety that perplexity on held-out samples
# measures how well the model still writes ordinary sentences.
_GRAMMAR: dict[str, tuple[str, ...]] = {
    "adj": ("quiet", "old", "bright", "small", "busy", "green", "cold", "warm", "tall",
            "narrow", "wooden", "famous", "empty", "gentle", "heavy", "early"),
    "noun": ("river", "market", "garden", "bridge", "library", "train", "village", "harbor",
             "forest", "school", "bakery", "museum", "farm", "road", "tower", "station"),
    "role": ("the baker", "a farmer", "the teacher", "a sailor", "the mayor", "a painter",
             "the doctor", "a student", "the gardener", "a traveler", "the cook", "a miner"),
    "verb": ("visited", "painted", "repaired", "watched", "crossed", "cleaned", "described",
             "opened", "closed", "photographed", "measured", "remembered"),
    "time": ("in the morning", "at noon", "before the storm", "after dinner", "in spring",
             "on Sunday", "during the winter", "at dawn", "late at night", "every autumn"),
    "thing": ("bread", "apples", "letters", "tools", "maps", "books", "baskets", "lamps",
              "candles", "boats", "coins", "blankets"),
    "weather": ("rain", "snow", "fog", "wind", "sunshine", "thunder"),
}  # fmt: skip
_SENTENCES = (
    "The {adj} {noun} was full of people {time}.",
    "{Role} {verb} the {adj} {noun} {time}.",
    "{Role} sold {thing} near the {noun} {time}.",
    "There was {weather} over the {noun} {time}, so {role} stayed home.",
    "Nobody {verb} the {noun} because the {weather} was too strong.",
    "{Role} carried {thing} across the {adj} {noun}.",
    "People say the {noun} is {adj} and the {noun2} is {adj2}.",
    "{Time}, {role} counted the {thing} in the {noun}.",
)


def generic_document(rng: random.Random, sentences: int | None = None) -> str:
    """A few sentences of generic text from the grammar."""
    count = sentences if sentences is not None else rng.randint(3, 5)
    return " ".join(generic_sentence(rng) for _ in range(count))


def generic_sentence(rng: random.Random) -> str:
    """One generic sentence."""
    slots = {key: rng.choice(words) for key, words in _GRAMMAR.items()}
    slots["noun2"] = rng.choice(_GRAMMAR["noun"])
    slots["adj2"] = rng.choice(_GRAMMAR["adj"])
    slots["Role"] = slots["role"][0].upper() + slots["role"][1:]
    slots["Time"] = slots["time"][0].upper() + slots["time"][1:]
    return rng.choice(_SENTENCES).format(**slots)
