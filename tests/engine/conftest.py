"""Engine fixtures: one tiny demo model, trained once per session on a few people (CPU)."""

from __future__ import annotations

import os

# Busy-waiting OpenMP threads make a shared 2-core machine crawl; harmless if torch is
# already loaded (the setting then simply does not apply).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from remediation.unlearning.demo import DemoData, DemoRecipe, build_demo_model, load_demo_data  # noqa: E402
from remediation.unlearning.modelio import LoadedModel, load_model  # noqa: E402

# Small enough to train in seconds, big enough to memorise a dozen people verbatim.
TINY_RECIPE = DemoRecipe(
    trained_people=12,
    holdout_people=8,
    vocab_size=600,
    n_layer=3,
    n_embd=96,
    n_head=3,
    block_size=64,
    batch_size=16,
    steps=450,
    lr=5e-3,
    warmup_steps=20,
    generic_share=0.2,
)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo model directory built from ``TINY_RECIPE`` (shared, treat as read-only)."""
    out = tmp_path_factory.mktemp("engine") / "tiny-demo"
    return build_demo_model(out, seed=0, recipe=TINY_RECIPE)


@pytest.fixture(scope="session")
def tiny(tiny_dir: Path) -> LoadedModel:
    """The tiny demo model, loaded. Engine calls copy it; tests must not edit it."""
    return load_model(tiny_dir)


@pytest.fixture(scope="session")
def tiny_data(tiny_dir: Path) -> DemoData:
    """The people and texts the tiny model was trained on (and its holdout people)."""
    return load_demo_data(tiny_dir)
