"""Verify: the full suite runs, is JSON-ready, and judges against the policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remediation.unlearning.demo import DemoData, items_of
from remediation.unlearning.errors import SettingsError
from remediation.unlearning.modelio import LoadedModel
from remediation.unlearning.runner import remediate
from remediation.unlearning.verification import VerificationPolicy, verify

FAST_POLICY = VerificationPolicy(
    samples=4, candidates=50, holdout_exposure_items=5, relearn_steps=2
)


@pytest.fixture(scope="module")
def sets(tiny_data: DemoData) -> dict[str, Any]:
    """Forget one person; holdout people; the other people; generic held-out text."""
    person = tiny_data.trained[:1]
    return {
        "forget": items_of(person),
        "holdout": items_of(tiny_data.holdout),
        "retain": items_of(tiny_data.others(person)),
        "generic": tiny_data.generic_heldout[:10],
        "retain_texts": tiny_data.retain_texts(person, generic=16),
    }


def test_unchanged_model_fails_the_policy(tiny: LoadedModel, sets: dict[str, Any]) -> None:
    # given a "remediated" model that is the original
    # when
    result = verify(
        tiny, tiny, sets["forget"], sets["holdout"], sets["retain"], sets["generic"], FAST_POLICY
    )
    # then
    assert not result.passed
    assert any(f.startswith("extraction.verbatim") for f in result.failures)
    assert result.derived["retained_ratio"] == pytest.approx(1.0)
    assert result.before.mia_auc["loss"] > 0.8


def test_remediated_model_result_is_complete_and_text_free(
    tiny: LoadedModel, sets: dict[str, Any]
) -> None:
    # given
    after = remediate(tiny, sets["forget"], sets["retain_texts"], seed=0).loaded
    # when
    result = verify(
        tiny, after, sets["forget"], sets["holdout"], sets["retain"], sets["generic"], FAST_POLICY
    )
    data = json.loads(json.dumps(result.to_dict()))
    # then: every section is there, nothing names an item
    assert set(data["attacked"]) == {"quant8", "quant4", "relearn"}
    assert set(data["derived"]["recovery"]) == {"quant8", "quant4", "relearn"}
    assert data["after"]["forget"]["rates"]["verbatim"] == 0.0
    assert {c["name"] for c in data["checks"]} >= {
        "extraction.sampled",
        "mia_auc.min_k",
        "retained_ratio",
    }
    assert data["passed"] == result.passed and data["failures"] == result.failures
    text = json.dumps(data)
    assert all(item.target not in text for item in sets["forget"])


def test_policy_round_trips_and_rejects_unknown_fields() -> None:
    # given
    policy = VerificationPolicy(max_recovery=0.2, attacks=("quant4",))
    # when / then
    assert VerificationPolicy.from_dict(policy.to_dict()) == policy
    assert VerificationPolicy.from_dict(None) == VerificationPolicy()
    with pytest.raises(SettingsError, match="unknown policy fields"):
        VerificationPolicy.from_dict({"max_recall": 1})
    with pytest.raises(SettingsError, match="unknown attacks"):
        VerificationPolicy.from_dict({"attacks": ["quant2"]})


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_recovery": "0.1"},
        {"max_recovery": float("nan")},
        {"max_recovery": True},
        {"samples": 2.5},
        {"samples": "20"},
        {"attack_exposure": "yes"},
        {"attacks": "quant4"},
        {"attacks": [["quant4"]]},
    ],
)
def test_policy_rejects_values_of_the_wrong_type(overrides: dict[str, Any]) -> None:
    # given a policy field given a value of the wrong type (a string, NaN, a bool, ...)
    # when / then it is a clear settings error, not a crash later in the run
    with pytest.raises(SettingsError):
        VerificationPolicy.from_dict(overrides)


def test_policy_accepts_ints_for_floats_and_lists_for_tuples() -> None:
    # given JSON-style values
    data = {"max_recovery": 0, "samples": 5.0, "attacks": ["quant8"]}
    # when
    policy = VerificationPolicy.from_dict(data)
    # then
    assert policy.max_recovery == 0.0 and isinstance(policy.max_recovery, float)
    assert policy.samples == 5 and policy.attacks == ("quant8",)
