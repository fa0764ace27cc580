"""The oracle: retraining the demo model from scratch, with another seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from remediation.unlearning.demo import DemoData, items_of, retrain_without
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.verification import extraction_rate

pytestmark = pytest.mark.slow


def _same_weights(one: LoadedModel, other: LoadedModel) -> bool:
    mine, theirs = one.model.state_dict(), other.model.state_dict()
    return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def test_another_seed_is_another_retraining_of_the_same_data(
    tiny_dir: Path, tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given the tiny demo model, trained on every trained person
    # when it is retrained on the same people with another seed
    again = retrain_without(tiny_dir, [], seed=tiny_data.seed + 1)
    # then the weights differ, and it has learned the same people all the same
    assert not _same_weights(again, tiny)
    trained = items_of(tiny_data.trained)
    assert extraction_rate(again, trained) == pytest.approx(extraction_rate(tiny, trained), abs=0.1)
