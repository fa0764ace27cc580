"""Detect: the leak scan finds what the tiny model memorised and nothing it never saw."""

from __future__ import annotations

import json

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.detect import ScanSettings, scan
from remediation.unlearning.modelio import LoadedModel

FAST = ScanSettings(samples=5, candidates=100)


def test_scan_flags_trained_items_and_not_holdout_items(
    tiny: LoadedModel, tiny_data: DemoData
) -> None:
    # given items of two trained people and two never-seen people
    trained, holdout = items_of(tiny_data.trained[:2]), items_of(tiny_data.holdout[:2])
    context = items_of(tiny_data.trained[2:])
    # when
    seen = scan(tiny, trained, FAST, context_items=context)
    unseen = scan(tiny, holdout, FAST, context_items=context)
    # then
    assert seen.rate("verbatim") >= 0.6
    assert unseen.leak_rate == 0.0
    assert seen.mean_exposure is not None and unseen.mean_exposure is not None
    assert seen.mean_exposure > unseen.mean_exposure + 2
    assert seen.mean_target_loss < unseen.mean_target_loss


def test_scan_reports_every_probe_per_item_by_index(tiny: LoadedModel, tiny_data: DemoData) -> None:
    # given
    items = items_of(tiny_data.trained[:1])
    # when
    result = scan(
        tiny,
        items,
        ScanSettings(samples=3, candidates=20),
        context_items=items_of(tiny_data.trained[1:]),
    )
    # then: JSON-ready, indexed, and free of item text
    data = result.to_dict()
    text = json.dumps(data)
    assert [i["index"] for i in data["items"]] == list(range(len(items)))
    assert set(data["items"][0]["probes"]) == {
        "verbatim",
        "paraphrase",
        "jailbreak",
        "fewshot",
        "sampled",
    }
    assert data["items"][0]["probes"]["sampled"]["tried"] == 3
    assert all(item.target not in text and item.prompt not in text for item in items)


def test_scan_is_deterministic(tiny: LoadedModel, tiny_data: DemoData) -> None:
    # given
    items = items_of(tiny_data.trained[:1])
    # when
    first = scan(tiny, items, ScanSettings(samples=4, candidates=30, seed=5)).to_dict()
    second = scan(tiny, items, ScanSettings(samples=4, candidates=30, seed=5)).to_dict()
    # then
    assert first == second
