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
        return model.versions.order_by("number")[0]
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


def demo_versions() -> list[ModelVersion]:
    """Registered versions that carry demo data (their people can be filed as requests)."""
    return [v for v in ModelVersion.objects.select_related("model") if _has_demo(v)]


def _has_demo(version: ModelVersion) -> bool:
    return (Path(version.path) / "demo").is_dir()


def demo_people(version: ModelVersion, limit: int = 25) -> list[str]:
    """Names of the version's trained demo people (fictional)."""
    from remediation.unlearning import load_demo_data

    return [person.name for person in load_demo_data(version.path).trained[:limit]]


def demo_person_items(version: ModelVersion, name: str) -> list[dict[str, str]]:
    """One item per value of a trained demo person: prompt and unwanted completion."""
    from remediation.unlearning import DemoDataError, items_of, load_demo_data

    data = load_demo_data(version.path)
    try:
        person = data.person(name)
    except DemoDataError:
        return []
    return [{"prompt": i.prompt, "completion": i.target} for i in items_of([person])]
