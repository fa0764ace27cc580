"""The demo model of the embedded default: built locally on first start, then registered."""

from pathlib import Path

from django.conf import settings
from django.db import transaction

from remediation.models import MLModel, ModelVersion
from remediation.services.registry import model_version_register

DEMO_MODEL_NAME = "demo-gpt2"


def demo_model_dir() -> Path:
    return settings.MODEL_ROOTS[0] / DEMO_MODEL_NAME


def demo_model_build(directory: Path) -> None:
    """Train the engine's demo model into `directory` (a few minutes on CPU)."""
    from remediation.unlearning import build_demo_model
    from remediation.unlearning.progress import TqdmProgress

    directory.parent.mkdir(parents=True, exist_ok=True)
    progress = TqdmProgress()
    try:
        build_demo_model(directory, progress=progress)
    finally:
        progress.close()


@transaction.atomic
def demo_model_register(directory: Path) -> ModelVersion:
    """Register the demo model as version 1 of 'demo-gpt2' unless it already is."""
    model = MLModel.objects.filter(name=DEMO_MODEL_NAME).first()
    if model is not None and model.versions.exists():
        return model.versions.order_by("number").first()  # type: ignore[return-value]
    return model_version_register(
        actor=None,
        name=DEMO_MODEL_NAME,
        path=str(directory),
        description="A small GPT-2 trained locally on a synthetic corpus of fictional people.",
    )


def demo_model_ensure() -> ModelVersion:
    """Build (once) and register (once) the demo model; safe to call on every start."""
    directory = demo_model_dir()
    if not (directory / "config.json").exists():
        demo_model_build(directory)
    return demo_model_register(directory)
