import pytest

from remediation.models import ModelVersion, RemediationRun
from remediation.services.forget_requests import (
    forget_request_approve,
    forget_request_review,
    forget_request_submit,
)


@pytest.fixture
def approved_request(make_request, alice, bob, carol):
    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    forget_request_review(request=request, actor=bob, identity_verified=True, identity_method="ID")
    forget_request_approve(request=request, actor=carol)
    return request


@pytest.fixture
def version(ml_model):
    return ModelVersion.objects.create(
        model=ml_model,
        number=1,
        path="/nonexistent",
        architecture="GPT2LMHeadModel",
        model_type="gpt2",
        parameter_count=10,
        manifest={},
        manifest_digest="0" * 64,
    )


@pytest.fixture
def planned_run(approved_request, version, dave):
    """A run planned by Dave (settings already validated: made directly)."""
    run = RemediationRun.objects.create(
        model_version=version, method="gradient_ascent", planned_by=dave
    )
    run.requests.set([approved_request])
    return run


@pytest.fixture
def verified_run(planned_run, version, carol):
    """A run that passed verification: awaiting sign-off, its new version quarantined."""
    from django.utils import timezone

    from remediation.services import runs as svc

    svc.run_approve(run=planned_run, actor=carol)
    svc.run_claim(run_id=planned_run.pk, worker="w1")
    svc.run_progress(
        planned_run.pk,
        phase="remediate",
        step=1,
        total=2,
        metrics={"forget_loss": 2.0, "retain_loss": 1.0},
    )
    output = ModelVersion.objects.create(
        model=version.model,
        number=2,
        path="/nonexistent-2",
        architecture="GPT2LMHeadModel",
        model_type="gpt2",
        parameter_count=10,
        manifest={},
        manifest_digest="1" * 64,
        parent=version,
        status=ModelVersion.Status.QUARANTINED,
    )
    result = {
        "passed": True,
        "checks": [
            {
                "name": "extraction.verbatim",
                "value": 0.0,
                "op": "",
                "threshold": "<= 0.0",
                "passed": True,
            }
        ],
        "metrics": [
            {
                "name": "any-probe extraction",
                "before": 1.0,
                "after": 0.0,
                "after_attacks": {"quant4": 0.0},
                "reference": 0.0,
            }
        ],
        "probes": {"probes": ["verbatim"], "before": [1.0], "after": [0.0]},
        "exposure": {"forget_before": [9.0], "forget_after": [1.0], "holdout": [1.2]},
        "roc": {"loss": {"fpr": [0, 1], "tpr": [0, 1], "auc": 0.5}},
        "utility": {"before": 10.0, "after": 10.1},
        "recovery": {"quant4": 0.0},
        "summary": {"retain_size": 40, "retain_digest": "ab" * 32},
    }
    svc.run_succeed(run_id=planned_run.pk, output_version=output, result=result, device="cpu")
    RemediationRun.objects.filter(pk=planned_run.pk).update(started_at=timezone.now())
    planned_run.refresh_from_db()
    return planned_run
