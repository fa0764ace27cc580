"""The model registry: registering models and their versions."""

from django.db import IntegrityError, transaction
from django.db.models import Max

from remediation import permissions
from remediation.models import MLModel, ModelVersion
from remediation.roles import UserLike
from remediation.services.audit import audit_event_record
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.model_dirs import inspect_model_dir


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Give the model a name (1–100 characters).", {"name": ["Required."]})
    return name


@transaction.atomic
def model_version_register(
    *,
    actor: UserLike | None,
    name: str,
    path: str,
    description: str = "",
    parent: ModelVersion | None = None,
    status: str = ModelVersion.Status.ACTIVE,
) -> ModelVersion:
    """Register a model directory as the next version of the model called `name`
    (creating the model on first use). The directory is validated and hashed first."""
    if actor is not None and not permissions.can_register_model(actor):
        raise NotAllowed("Only operators can register models.")
    name = _check_name(name)
    info = inspect_model_dir(path)
    model, created = MLModel.objects.get_or_create(
        name=name, defaults={"description": description.strip(), "created_by": actor}
    )
    # Lock the model row so two registrations cannot take the same version number.
    model = MLModel.objects.select_for_update().get(pk=model.pk)
    number = (model.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                model=model,
                number=number,
                path=str(info.path),
                status=status,
                architecture=info.architecture,
                model_type=info.model_type,
                parameter_count=info.parameter_count,
                manifest=info.manifest,
                manifest_digest=info.manifest_digest,
                parent=parent,
                registered_by=actor,
            )
    except IntegrityError as exc:
        raise ValidationFailed("Another registration of this model won; try again.") from exc
    _record_registration(actor, version, created)
    return version


def _record_registration(actor: UserLike | None, version: ModelVersion, created: bool) -> None:
    if created:
        audit_event_record(
            actor=actor, action="model.created", object_type="model", object_id=version.model_id
        )
    audit_event_record(
        actor=actor,
        action="model_version.registered",
        object_type="model_version",
        object_id=version.pk,
        payload={
            "model_id": version.model_id,
            "number": version.number,
            "manifest_digest": version.manifest_digest,
            "parent_id": version.parent_id,
        },
    )
