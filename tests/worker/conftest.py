import datetime
from pathlib import Path

import pytest
from django.conf import settings

from remediation.models import ForgetRequest, ModelVersion
from remediation.services import forget_requests as fr
from remediation.services.item_files import ItemInput
from remediation.services.registry import model_version_register
from remediation.services.runs import run_approve, run_plan
from tests.support import (
    FAST_METHOD,
    FAST_SETTINGS,
    LENIENT_POLICY,
    RedisServer,
    Worker,
    tiny_demo_model,
    use_broker,
)
from unlearn_site.redis_urls import channels_host


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.worker)
            # Real processes: a worker start, a model run and a database flush add up.
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    root = settings.VAR_DIR / "test-cache"
    root.mkdir(parents=True, exist_ok=True)
    return tiny_demo_model(root)


@pytest.fixture
def model_roots(tiny_model_dir, settings, tmp_path):
    """Model roots: the cached tiny model's folder, and a fresh folder for run outputs."""
    out = (tmp_path / "outputs").resolve()
    out.mkdir()
    settings.MODEL_ROOTS = [out, tiny_model_dir.parent.resolve()]
    settings.UNLEARN_OUTPUT_ROOT = out / "runs"
    return settings.MODEL_ROOTS


@pytest.fixture
def redis_server(settings):
    server = RedisServer()
    server.start()
    settings.REDIS_URL = server.url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [channels_host(server.url)]},
        }
    }
    use_broker(server.url)
    yield server
    server.stop()


@pytest.fixture
def start_worker(redis_server, model_roots, tmp_path, monkeypatch):
    """Start real Celery workers; each is stopped (or already killed) at the end."""
    import os

    monkeypatch.setenv("MODEL_ROOTS", os.pathsep.join(str(r) for r in model_roots))
    monkeypatch.setenv("UNLEARN_OUTPUT_ROOT", str(model_roots[0] / "runs"))
    workers = []

    def start(name: str = "w1", beat: bool = False) -> Worker:
        worker = Worker(redis_server, tmp_path / f"{name}.log", beat=beat)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def tiny_version(transactional_db, model_roots, tiny_model_dir, dave) -> ModelVersion:
    return model_version_register(actor=dave, name="tiny-demo", path=str(tiny_model_dir))


@pytest.fixture
def demo_person_request(tiny_version, tiny_model_dir, alice, bob, carol):
    """An approved request to forget every value of the first trained demo person."""
    from remediation.unlearning import items_of, load_demo_data

    person = load_demo_data(tiny_model_dir).trained[0]
    items = [ItemInput(i.prompt, i.target) for i in items_of([person])]
    request = fr.forget_request_create(
        actor=alice,
        kind=ForgetRequest.Kind.PII,
        subject_reference=person.name,
        legal_ground="art17_1a",
        received_on=datetime.date.today(),
        models=[tiny_version.model],
        items=items,
    )
    fr.forget_request_submit(request=request, actor=alice)
    fr.forget_request_review(
        request=request, actor=bob, identity_verified=True, identity_method="ID"
    )
    fr.forget_request_approve(request=request, actor=carol)
    request.person = person
    return request


@pytest.fixture
def plan_run(tiny_version, demo_person_request, dave, carol):
    """Plan (and optionally approve, which dispatches) a fast run."""

    def plan(approve: bool = True, settings_: dict | None = None, method: str = FAST_METHOD):
        run = run_plan(
            actor=dave,
            model_version=tiny_version,
            requests=[demo_person_request],
            method=method,
            settings_=settings_ or FAST_SETTINGS,
            policy=LENIENT_POLICY,
        )
        if approve:
            run_approve(run=run, actor=carol)
        return run

    return plan
