"""Registering model versions: who may, what is recorded, and that a refusal leaves no trace."""

import hashlib

import pytest

from remediation.models import AuditEvent, MLModel, ModelVersion
from remediation.services.audit import audit_chain_verify
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.model_dirs import manifest_digest
from remediation.services.registry import model_version_register
from tests.conftest import write_model_dir
from tests.services.model_dir_cases import REFUSED


def nothing_registered() -> bool:
    return not (
        MLModel.objects.exists() or ModelVersion.objects.exists() or AuditEvent.objects.exists()
    )


def test_operator_registers_a_valid_directory(model_dir, dave):
    # when
    version = model_version_register(
        actor=dave, name="  support-bot ", path="tiny-gpt2", description=" Tiny GPT-2 "
    )
    # then
    version.refresh_from_db()
    assert (version.model.name, version.model.description) == ("support-bot", "Tiny GPT-2")
    assert (version.number, version.status, version.parent) == (1, "active", None)
    assert version.path == str(model_dir)
    assert (version.architecture, version.model_type) == ("GPT2LMHeadModel", "gpt2")
    assert version.parameter_count == 68
    assert version.manifest == {
        name: hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
        for name in ("config.json", "model.safetensors")
    }
    assert version.manifest_digest == manifest_digest(version.manifest)
    assert version.registered_by == dave
    assert version.model.created_by == dave


def test_registration_is_audited(model_dir, dave):
    # when
    version = model_version_register(actor=dave, name="support-bot", path="tiny-gpt2")
    # then
    created, registered = AuditEvent.objects.order_by("seq")
    assert (created.action, created.object_id) == ("model.created", str(version.model_id))
    assert (registered.action, registered.object_id) == (
        "model_version.registered",
        str(version.pk),
    )
    assert registered.payload == {
        "model_id": version.model_id,
        "number": 1,
        "manifest_digest": version.manifest_digest,
        "parent_id": None,
    }
    assert registered.actor_id == dave.pk
    assert audit_chain_verify().ok


def test_a_second_registration_is_version_2_and_names_its_parent(model_root, model_dir, dave):
    # given
    first = model_version_register(actor=dave, name="support-bot", path="tiny-gpt2")
    write_model_dir(model_root / "tiny-gpt2-v2")
    # when
    second = model_version_register(
        actor=dave, name="support-bot", path="tiny-gpt2-v2", parent=first
    )
    # then
    assert (second.number, second.parent, second.model) == (2, first, first.model)
    assert MLModel.objects.count() == 1
    assert list(first.model.versions.values_list("number", flat=True)) == [2, 1]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["model.created", "model_version.registered", "model_version.registered"]
    assert AuditEvent.objects.last().payload["parent_id"] == first.pk


def test_versions_are_numbered_per_model(model_dir, dave):
    # given
    model_version_register(actor=dave, name="support-bot", path="tiny-gpt2")
    # when
    other = model_version_register(actor=dave, name="billing-bot", path="tiny-gpt2")
    # then
    assert other.number == 1


@pytest.mark.parametrize("persona", ["frank", None])
def test_admin_and_the_system_may_register(model_dir, personas, persona):
    # given
    actor = personas[persona] if persona else None
    # when
    version = model_version_register(actor=actor, name="support-bot", path="tiny-gpt2")
    # then
    assert version.registered_by == actor
    assert AuditEvent.objects.last().actor_name == (persona or "system")


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "erin", "mallory"])
def test_only_operators_and_admins_may_register(model_dir, personas, persona):
    # when
    with pytest.raises(NotAllowed, match="Only operators"):
        model_version_register(actor=personas[persona], name="support-bot", path="tiny-gpt2")
    # then
    assert nothing_registered()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_model_needs_a_name(model_dir, dave, name):
    # when
    with pytest.raises(ValidationFailed, match="name") as refused:
        model_version_register(actor=dave, name=name, path="tiny-gpt2")
    # then
    assert "name" in refused.value.errors
    assert nothing_registered()


@pytest.mark.parametrize(
    ("case", "message"), [(k, v[1]) for k, v in REFUSED.items()], ids=list(REFUSED)
)
def test_a_refused_directory_registers_nothing(model_root, dave, case, message):
    # given
    path = REFUSED[case][0](model_root)
    # when
    with pytest.raises(ValidationFailed, match=message):
        model_version_register(actor=dave, name="support-bot", path=path)
    # then
    assert nothing_registered()


def test_a_refused_second_version_leaves_the_first_as_it_was(model_root, model_dir, dave):
    # given
    first = model_version_register(actor=dave, name="support-bot", path="tiny-gpt2")
    events = AuditEvent.objects.count()
    broken = write_model_dir(model_root / "v2")
    (broken / "pytorch_model.bin").write_bytes(b"pickle")
    # when
    with pytest.raises(ValidationFailed, match="Pickle"):
        model_version_register(actor=dave, name="support-bot", path="v2", parent=first)
    # then
    assert list(ModelVersion.objects.all()) == [first]
    assert AuditEvent.objects.count() == events
