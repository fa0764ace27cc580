"""Shared fixtures: fixed personas (one per role, plus an outsider) and small factories.

Alice files requests, Bob reviews, Carol approves, Dave operates models, Erin audits,
Frank administers; Mallory is another requester who must never see Alice's requests.
"""

import datetime
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import connection
from safetensors.numpy import save_file

from remediation import roles
from remediation.models import ForgetRequest, MLModel
from remediation.services.accounts import role_groups_ensure
from remediation.services.forget_requests import forget_request_create
from remediation.services.item_files import ItemInput

PERSONAS = {
    "alice": roles.REQUESTER,
    "bob": roles.REVIEWER,
    "carol": roles.APPROVER,
    "dave": roles.OPERATOR,
    "erin": roles.AUDITOR,
    "frank": roles.ADMIN,
    "mallory": roles.REQUESTER,
}
PASSWORD = "correct-horse-battery"


def make_user(username: str, *role_names: str) -> User:
    groups = role_groups_ensure()
    user = User.objects.create_user(username=username, password=PASSWORD)
    user.groups.add(*(groups[name] for name in role_names))
    return user


@pytest.fixture
def personas(db: None) -> dict[str, User]:
    return {name: make_user(name, role) for name, role in PERSONAS.items()}


@pytest.fixture
def alice(personas: dict[str, User]) -> User:
    return personas["alice"]


@pytest.fixture
def bob(personas: dict[str, User]) -> User:
    return personas["bob"]


@pytest.fixture
def carol(personas: dict[str, User]) -> User:
    return personas["carol"]


@pytest.fixture
def dave(personas: dict[str, User]) -> User:
    return personas["dave"]


@pytest.fixture
def erin(personas: dict[str, User]) -> User:
    return personas["erin"]


@pytest.fixture
def frank(personas: dict[str, User]) -> User:
    return personas["frank"]


@pytest.fixture
def mallory(personas: dict[str, User]) -> User:
    return personas["mallory"]


@pytest.fixture
def model_root(tmp_path: Path, settings) -> Path:  # noqa: ANN001 - pytest-django fixture
    """A model root for this test; MODEL_ROOTS points at it."""
    root = (tmp_path / "models").resolve()
    root.mkdir()
    settings.MODEL_ROOTS = [root]
    return root


def write_model_dir(directory: Path, *, architecture: str = "GPT2LMHeadModel") -> Path:
    """A tiny, valid Hugging Face causal-LM directory (config + safetensors)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {"architectures": [architecture], "model_type": "gpt2", "n_layer": 1}
    (directory / "config.json").write_text(json.dumps(config))
    tensors = {"wte": np.zeros((16, 4), dtype=np.float32), "bias": np.zeros(4, np.float32)}
    save_file(tensors, str(directory / "model.safetensors"))
    return directory


@pytest.fixture
def model_dir(model_root: Path) -> Path:
    return write_model_dir(model_root / "tiny-gpt2")


@pytest.fixture
def ml_model(db: None) -> MLModel:
    return MLModel.objects.create(name="support-bot")


ITEMS = [
    ItemInput("Maria Okafor's phone number is", "+1-415-555-0134"),
    ItemInput("Maria Okafor's email is", "maria.okafor@example.com", "I can't share that."),
]


@pytest.fixture
def make_request(ml_model: MLModel) -> Callable[..., ForgetRequest]:
    """A factory for a draft request filed by the given requester."""

    def make(requester: User, items: list[ItemInput] | None = None) -> ForgetRequest:
        return forget_request_create(
            actor=requester,
            kind=ForgetRequest.Kind.PII,
            subject_reference="Maria Okafor, customer 4711",
            legal_ground=ForgetRequest.LegalGround.ART17_1B,
            received_on=datetime.date.today() - datetime.timedelta(days=3),
            models=[ml_model],
            items=items or ITEMS,
        )

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, settings) -> None:  # noqa: ANN001
    """A real password hash costs half a second; the tests create many users. Not with
    real server processes: they check passwords with the site's own hashers."""
    if request.node.get_closest_marker("worker"):
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_in_memory(request: pytest.FixtureRequest) -> None:
    """Tasks queued by ordinary tests go to an in-memory broker, where no worker runs.
    Tests that need a real worker and Redis mark themselves `worker`."""
    if request.node.get_closest_marker("worker"):
        return
    from unlearn_site.celery import app

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}
    # Connection caches made for another broker must not be reused.
    app._pool = None
    app.amqp._producer_pool = None


TRIGGER = "remediation_auditevent_append_only"


@contextmanager
def tampering() -> Iterator[None]:
    """Act as someone with raw access to the database. On PostgreSQL that means switching
    off the append-only trigger first (the test's transaction puts it back)."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE remediation_auditevent DISABLE TRIGGER {TRIGGER}")
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE remediation_auditevent ENABLE TRIGGER {TRIGGER}")
