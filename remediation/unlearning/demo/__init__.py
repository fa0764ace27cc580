"""The demo: fictional people, a small GPT-2 trained on them, and the data beside it."""

from __future__ import annotations

from .build import build_demo_model, make_demo_data, retrain_without
from .corpus import Person, person_items, person_records
from .data import DemoData, items_of, load_demo_data, records_of
from .training import DemoRecipe

__all__ = [
    "DemoData",
    "DemoRecipe",
    "Person",
    "build_demo_model",
    "items_of",
    "load_demo_data",
    "make_demo_data",
    "person_items",
    "person_records",
    "records_of",
    "retrain_without",
]
