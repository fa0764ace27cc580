"""The demo data stored beside the demo model, and how to read it back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DemoDataError
from ..items import ForgetItem
from .corpus import Person, person_items, person_records
from .training import DemoRecipe

DEMO_DIR = "demo"
PEOPLE_FILE = "people.json"
GENERIC_FILE = "generic.json"


@dataclass
class DemoData:
    """Trained and holdout people, generic text, and the recipe the model was built with."""

    seed: int
    recipe: DemoRecipe
    trained: list[Person]
    holdout: list[Person]
    generic_train: list[str]
    generic_heldout: list[str]

    def person(self, name: str) -> Person:
        """A trained or holdout person by name."""
        for person in (*self.trained, *self.holdout):
            if person.name == name:
                return person
        raise DemoDataError(f"no demo person named {name!r}")

    def others(self, excluded: Iterable[Person]) -> list[Person]:
        """Trained people not in ``excluded``."""
        names = {p.name for p in excluded}
        return [p for p in self.trained if p.name not in names]

    def retain_texts(self, excluded: Iterable[Person], generic: int = 64) -> list[str]:
        """Retained people's records plus some generic training text."""
        records = [text for p in self.others(excluded) for text in person_records(p)]
        return records + self.generic_train[:generic]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (fictional data)."""
        return {
            "seed": self.seed,
            "recipe": self.recipe.to_dict(),
            "trained": [p.to_dict() for p in self.trained],
            "holdout": [p.to_dict() for p in self.holdout],
        }


def items_of(people: Sequence[Person]) -> list[ForgetItem]:
    """Every value of every person as a forget item."""
    return [item for person in people for item in person_items(person)]


def records_of(people: Sequence[Person]) -> list[str]:
    """Every trained phrasing of every value of the people."""
    return [text for person in people for text in person_records(person)]


def write_demo_data(model_dir: Path, data: DemoData) -> None:
    """Write ``demo/people.json`` and ``demo/generic.json`` into a model directory."""
    folder = model_dir / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PEOPLE_FILE).write_text(json.dumps(data.to_dict(), indent=1) + "\n", encoding="utf-8")
    generic = {"train": data.generic_train, "heldout": data.generic_heldout}
    (folder / GENERIC_FILE).write_text(json.dumps(generic, indent=1) + "\n", encoding="utf-8")


def load_demo_data(model_dir: str | Path) -> DemoData:
    """Read the demo data that ``build_demo_model`` wrote beside the model.

    Raises ``DemoDataError`` when the directory has none or it is unreadable.
    """
    folder = Path(model_dir) / DEMO_DIR
    try:
        people = json.loads((folder / PEOPLE_FILE).read_text(encoding="utf-8"))
        generic = json.loads((folder / GENERIC_FILE).read_text(encoding="utf-8"))
        return DemoData(
            seed=int(people["seed"]),
            recipe=DemoRecipe.from_dict(people["recipe"]),
            trained=[Person.from_dict(p) for p in people["trained"]],
            holdout=[Person.from_dict(p) for p in people["holdout"]],
            generic_train=[str(t) for t in generic["train"]],
            generic_heldout=[str(t) for t in generic["heldout"]],
        )
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise DemoDataError(f"no readable demo data in {model_dir}") from None
