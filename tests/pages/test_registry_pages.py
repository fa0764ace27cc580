"""The model registry pages."""

import pytest
from django.urls import reverse

from remediation.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_operator_registers_a_model_directory(client_for, dave, model_dir):
    # when
    response = client_for("dave").post(
        reverse("model_register"), {"name": "support-bot", "path": "tiny-gpt2"}
    )
    # then
    version = ModelVersion.objects.get()
    assert response.status_code == 302
    assert version.architecture == "GPT2LMHeadModel"
    assert version.parameter_count == 16 * 4 + 4
    assert set(version.manifest) == {"config.json", "model.safetensors"}
    page = client_for("erin").get(reverse("version_detail", args=[version.pk])).content.decode()
    assert version.manifest["model.safetensors"] in page


@pytest.mark.parametrize(
    ("path", "message"),
    [("../etc", "may not contain"), ("/etc", "outside the configured"), ("nope", "No model")],
)
def test_bad_paths_are_refused_on_the_page(client_for, dave, model_root, path, message):
    response = client_for("dave").post(reverse("model_register"), {"name": "x", "path": path})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_only_operators_may_register(client_for, alice, model_dir):
    response = client_for("alice").post(
        reverse("model_register"), {"name": "x", "path": "tiny-gpt2"}
    )
    assert response.status_code == 404
    assert not ModelVersion.objects.exists()
