"""The evidence sections of a report, from a run's stored result and its progress events.

The worker stores `run.result` in one shape (see remediation/worker.py); this module
only reads it, so a report never depends on the engine's internals."""

from typing import Any

from remediation.models import RemediationRun, RunEvent

LIMITS_STATEMENT = (
    "Approximate unlearning changes the weights so that the items are no longer produced "
    "and the model treats them like data it never saw, as measured by the tests above. It "
    "is not a proof that no trace remains: published attacks (quantization, relearning on "
    "related text, paraphrased or adversarial prompts) recover part of what most methods "
    "remove. The figures above bound what these attacks recovered here."
)
RECOMMENDATIONS = [
    "Keep an output filter for the removed values as defence in depth.",
    "Re-scan later versions of this model for these items while they are retained.",
    "Do not fine-tune the new version on data that may contain the removed values.",
]


def evidence_from_result(result: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    """Section 5: thresholds fixed before the run, each check, and every metric."""
    return {
        "policy": policy,
        "passed": bool(result.get("passed")),
        "checks": list(result.get("checks", [])),
        "metrics": list(result.get("metrics", [])),
    }


def _training_curves(run: RemediationRun) -> dict[str, list[float]]:
    events = run.events.filter(kind=RunEvent.Kind.PROGRESS, phase="remediate").order_by("seq")
    curves: dict[str, list[float]] = {"step": [], "forget_loss": [], "retain_loss": []}
    for event in events:
        if "forget_loss" not in event.metrics:
            continue
        curves["step"].append(event.step)
        curves["forget_loss"].append(float(event.metrics["forget_loss"]))
        curves["retain_loss"].append(float(event.metrics.get("retain_loss", 0.0)))
    return curves


def charts_from_run(run: RemediationRun) -> dict[str, Any]:
    """Section 6: the data behind each chart (the HTML and the PDF draw the same)."""
    result = run.result or {}
    return {
        "extraction_by_probe": result.get("probes", {"probes": [], "before": [], "after": []}),
        "exposure": result.get("exposure", {}),
        "roc": result.get("roc", {}),
        "utility": result.get("utility", {}),
        "training": _training_curves(run),
    }


def residual_risk(result: dict[str, Any]) -> dict[str, Any]:
    """Section 7: what the attacks recovered, the method's limits, what we recommend."""
    return {
        "recovery": dict(result.get("recovery", {})),
        "statement": LIMITS_STATEMENT,
        "recommendations": RECOMMENDATIONS,
    }
