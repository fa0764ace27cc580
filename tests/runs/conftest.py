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
