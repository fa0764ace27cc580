"""Isolate: a saliency mask of the requested size, and a per-layer summary for the chart."""

from __future__ import annotations

import json

import pytest

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.errors import SettingsError
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.saliency import isolate, scoped_parameters


def test_mask_covers_the_requested_share_of_mlp_weights(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given one person to forget and the others to keep
    forget = items_of(tiny_data.trained[:1])
    retain = tiny_data.retain_texts(tiny_data.trained[:1], generic=8)
    # when
    result = isolate(tiny, forget, retain, scope="mlp", fraction=0.05)
    # then
    scoped = scoped_parameters(tiny.model, "mlp")
    total = sum(p.numel() for p in scoped.values())
    masked = sum(int(m.sum()) for m in result.mask.values())
    assert set(result.mask) == set(scoped)
    assert all(".mlp." in name for name in result.mask)
    assert 0.04 * total <= masked <= 0.06 * total
    assert all(t.forget_grad > 0 for t in result.tensors)


def test_per_layer_summary_is_json_ready(tiny: LoadedModel, tiny_data: DemoData) -> None:
    # given / when
    result = isolate(
        tiny,
        items_of(tiny_data.trained[:1]),
        tiny_data.generic_train[:8],
        scope="linear",
        fraction=0.1,
    )
    data = json.loads(json.dumps(result.to_dict()))
    # then: one row per block, shares that add up to the mask
    assert [row["layer"] for row in data["layers"]] == [0, 1, 2]
    assert sum(row["masked"] for row in data["layers"]) == data["masked"]
    assert all(row["specificity"] > 0 for row in data["layers"])


def test_bad_fraction_or_scope(tiny: LoadedModel, tiny_data: DemoData) -> None:
    # given / when / then
    items = items_of(tiny_data.trained[:1])
    with pytest.raises(SettingsError):
        isolate(tiny, items, ["text"], fraction=0)
    with pytest.raises(SettingsError):
        isolate(tiny, items, ["text"], scope="everything")
