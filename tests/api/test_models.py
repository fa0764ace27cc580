"""The model registry over the API: /api/models/ and /api/model-versions/."""

import pytest

from remediation.models import AuditEvent, MLModel, ModelVersion
from remediation.services.registry import model_version_register
from tests.api.conftest import post
from tests.conftest import write_model_dir


@pytest.fixture
def version(model_dir, dave) -> ModelVersion:
    return model_version_register(actor=dave, name="support-bot", path=str(model_dir))


def test_operator_registers_a_model_directory(client_for, dave, model_dir):
    # when
    response = post(
        client_for(dave),
        "/api/models/",
        {"name": "support-bot", "path": str(model_dir), "description": "Helpdesk model"},
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["model_name"], body["number"], body["status"]) == ("support-bot", 1, "active")
    assert body["registered_by"] == "dave"
    assert set(body["manifest"]) == {"config.json", "model.safetensors"}
    assert body["parameter_count"] == 16 * 4 + 4
    assert MLModel.objects.get().description == "Helpdesk model"


def test_second_registration_is_the_next_version_with_its_parent(
    client_for, dave, version, model_root
):
    # given
    second_dir = write_model_dir(model_root / "tiny-gpt2-v2")

    # when
    response = post(
        client_for(dave),
        "/api/models/",
        {"name": "support-bot", "path": "tiny-gpt2-v2", "parent": version.pk},
    )

    # then
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == 2
    assert response.json()["parent"] == version.pk
    assert response.json()["path"] == str(second_dir)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "m"}, "path"),
        ({"path": "tiny-gpt2"}, "name"),
        ({"name": "", "path": "tiny-gpt2"}, "name"),
        ({"name": "m" * 101, "path": "tiny-gpt2"}, "name"),
        ({"name": "m", "path": "/etc"}, "path"),
        ({"name": "m", "path": "../../etc"}, "path"),
        ({"name": "m", "path": "missing-dir"}, "path"),
        ({"name": "m", "path": "a" * 300}, "path"),
        ({"name": "m", "path": ["tiny-gpt2"]}, "path"),
        ({"name": "m", "path": "tiny-gpt2", "parent": 999_999}, "parent"),
        ({"name": "m", "path": "tiny-gpt2", "parent": "v1"}, "parent"),
    ],
    ids=[
        "no path",
        "no name",
        "blank name",
        "long name",
        "outside roots",
        "dot-dot",
        "missing",
        "name too long for the filesystem",
        "path not text",
        "unknown parent",
        "parent not an id",
    ],
)
def test_bad_registration_is_400_and_registers_nothing(client_for, dave, model_dir, payload, field):
    # when
    response = post(client_for(dave), "/api/models/", payload)

    # then
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert ModelVersion.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_pickle_weights_are_refused(client_for, dave, model_dir):
    # given
    (model_dir / "pytorch_model.bin").write_bytes(b"not really a pickle")

    # when
    response = post(client_for(dave), "/api/models/", {"name": "m", "path": str(model_dir)})

    # then
    assert response.status_code == 400
    assert "Pickle" in response.json()["detail"]


def test_requester_may_not_register_and_learns_nothing_about_paths(client_for, alice, model_root):
    # when
    response = post(client_for(alice), "/api/models/", {"name": "m", "path": "/etc"})

    # then
    assert response.status_code == 403
    assert "/etc" not in response.content.decode()


@pytest.mark.parametrize("persona", ["alice", "dave", "erin"])
def test_every_signed_in_user_lists_models_with_versions(client_for, personas, version, persona):
    # when
    response = client_for(personas[persona]).get("/api/models/")

    # then
    assert response.status_code == 200
    [model] = response.json()["results"]
    assert model["name"] == "support-bot"
    assert [v["number"] for v in model["versions"]] == [1]
    assert "manifest" not in model["versions"][0]


def test_model_detail(client_for, alice, version):
    # when
    response = client_for(alice).get(f"/api/models/{version.model_id}/")

    # then
    assert response.status_code == 200
    assert response.json()["versions"][0]["id"] == version.pk


def test_version_list_filters_by_model_and_status(client_for, alice, version):
    # when
    by_model = client_for(alice).get("/api/model-versions/", {"model": version.model_id})
    by_status = client_for(alice).get("/api/model-versions/", {"status": "quarantined"})
    unknown_model = client_for(alice).get("/api/model-versions/", {"model": 999_999})

    # then
    assert [v["id"] for v in by_model.json()["results"]] == [version.pk]
    assert by_status.json()["results"] == []
    assert unknown_model.status_code == 400


def test_version_detail_has_the_manifest(client_for, alice, version):
    # when
    response = client_for(alice).get(f"/api/model-versions/{version.pk}/")

    # then
    assert response.status_code == 200
    assert response.json()["manifest"] == version.manifest
    assert response.json()["manifest_digest"] == version.manifest_digest


@pytest.mark.parametrize("path", ["/api/models/999999/", "/api/model-versions/999999/"])
def test_unknown_ids_are_404(client_for, alice, path):
    # when
    response = client_for(alice).get(path)

    # then
    assert response.status_code == 404


def test_anonymous_cannot_list_models(client, version):
    # when
    response = client.get("/api/models/")

    # then
    assert response.status_code in (401, 403)
