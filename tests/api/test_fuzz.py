"""Fuzzing: the API, driven by its own OpenAPI schema, never answers with a server error.

Schemathesis generates requests for every operation (conforming and malformed ones) and
sends them in-process to the WSGI application, against the test database, as a
requester, an approver and an operator (who may register models, scan and plan runs).
Path ids are drawn partly from real objects (requests in every state, a planned run, a
run awaiting sign-off, a report, scans), so the actions run on objects that exist. Then
a few hand-made Hypothesis strategies send malformed bodies to create / review / extend
/ plan and check that nothing changed.
"""

import datetime
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from rest_framework.fields import BooleanField
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from remediation.models import AuditEvent, ForgetRequest, ModelVersion, RemediationRun
from remediation.services import run_options
from remediation.services.registry import model_version_register
from remediation.services.runs import run_plan
from remediation.services.scans import scan_claim, scan_finish, scan_start
from remediation.services.signoff import run_signoff
from tests.api.conftest import fake_version, post, url, valid_create_payload
from unlearn_site.wsgi import application

EXAMPLES_PER_OPERATION = 12  # per generation mode: 24 per operation and persona
# Revoking the token would sign the fuzzer out for the rest of the run.
SKIPPED = {("DELETE", "/api/token/")}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def in_process_requests() -> Iterator[list[BaseException]]:
    """Let WSGI requests run inside the test's transaction, as Django's test client does,
    and collect the exceptions behind any 500 so a failure shows the traceback."""
    captured: list[BaseException] = []

    def capture(sender: Any, request: Any = None, **kwargs: Any) -> None:
        import sys

        captured.append(sys.exc_info()[1])

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(capture)
    try:
        yield captured
    finally:
        got_request_exception.disconnect(capture)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass(frozen=True)
class World:
    ids: list[int]  # of real requests, models, versions, runs, scans, reports, events
    model_id: int
    model_path: str
    version_id: int
    approved_id: int  # a request a run can be planned on and a scan started for


def _awaiting_signoff_like(run: RemediationRun) -> RemediationRun:
    """Another run awaiting sign-off, with the same verdict as `run` (made directly)."""
    quarantined = ModelVersion.Status.QUARANTINED
    output = fake_version(run.model_version.model, 99, status=quarantined)
    twin = RemediationRun.objects.create(
        model_version=run.model_version,
        method=run.method,
        planned_by=run.planned_by,
        approved_by=run.approved_by,
        status=RemediationRun.Status.AWAITING_SIGNOFF,
        output_version=output,
        result=run.result,
    )
    twin.requests.set(run.requests.all())
    return twin


def _runs_scans_and_reports(verified_run, approved, dave, carol) -> set[int]:
    """A signed-off run with its report, a run awaiting sign-off, a planned run, a queued
    and a finished scan: the ids of all of them and of the runs' first events. Signing
    off makes the run's output the model's one current version, which the rest use."""
    waiting = _awaiting_signoff_like(verified_run)
    report = run_signoff(run=verified_run, actor=carol, note="fuzz")
    current = verified_run.output_version
    planned = run_plan(actor=dave, model_version=current, requests=[approved], method="npo")
    queued = scan_start(request=approved, model_version=current, actor=dave)
    done = scan_start(request=verified_run.requests.get(), model_version=current, actor=dave)
    scan_claim(done.pk)
    rows = [{"position": 1, "leaked": True, "leaked_probes": ["verbatim"], "target_loss": 0.1}]
    scan_finish(scan_id=done.pk, result={"items": rows, "leaked_items": 1})
    ids = {planned.pk, waiting.pk, verified_run.pk, report.pk, queued.pk, done.pk, current.pk}
    return ids | set(verified_run.events.values_list("pk", flat=True)[:2])


@pytest.fixture
def world(in_state, mallory, dave, carol, model_dir, verified_run) -> World:
    """Requests in every state, model versions, runs, scans, a report and audit events."""
    requests = [in_state(s) for s in ("draft", "submitted", "in_review", "approved", "rejected")]
    requests.append(in_state("submitted", requester=mallory))
    version = model_version_register(actor=dave, name="support-bot", path=str(model_dir))
    approved = requests[3]
    ids = {r.pk for r in requests} | {version.pk, version.model_id}
    ids |= _runs_scans_and_reports(verified_run, approved, dave, carol)
    ids |= set(AuditEvent.objects.values_list("pk", flat=True)[:3])
    current = verified_run.output_version_id
    return World(sorted(ids), version.model_id, str(model_dir), current, approved.pk)


@pytest.fixture
def fast_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDF takes seconds to render and its report is not fuzzed (test_reports_api
    renders and verifies it): the fuzzer gets a stand-in."""
    monkeypatch.setattr("remediation.reports.pdf.render_report_pdf", lambda doc: b"%PDF-1.7")


def _repair(case: Any, world: World) -> None:
    """Make a generated body for filing, registering, scanning or planning plausible, so
    that some succeed: random ids and paths would otherwise always be refused before the
    service."""
    if not isinstance(case.body, dict):
        return
    if case.operation.label == "POST /api/requests/":
        yesterday = datetime.date.today() - datetime.timedelta(days=1)
        case.body.update(models=[world.model_id], received_on=str(yesterday))
    elif case.operation.label == "POST /api/models/":
        case.body.update(path=world.model_path, parent=None)
    elif case.operation.label == "POST /api/scans/":
        case.body.update(request=world.approved_id, model_version=world.version_id)
    elif case.operation.label == "POST /api/runs/":
        case.body.update(
            requests=[world.approved_id],
            model_version=world.version_id,
            method=run_options.default_method(),
        )


def _strategy(operation: Any, mode: GenerationMode, known_ids: list[int]) -> Any:
    generated = operation.as_strategy(generation_mode=mode)
    if "{id}" not in operation.path:
        return generated
    real = [
        operation.as_strategy(generation_mode=mode, path_parameters={"id": i}) for i in known_ids
    ]
    return st.one_of(generated, *real)


def _fuzz_operation(operation: Any, headers: dict[str, str], world: World, captured: list) -> int:
    calls = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @FUZZ_SETTINGS
        @given(case=_strategy(operation, mode, world.ids), repair=st.booleans())
        def run(case: Any, repair: bool) -> None:
            nonlocal calls
            if repair:
                _repair(case, world)
            captured.clear()
            response = case.call(headers=headers)
            if captured:
                raise AssertionError(
                    f"server error on {case.method} {case.formatted_path}"
                ) from captured[0]
            case.validate_response(response, checks=[not_a_server_error])
            calls += 1

        try:
            run()
        except Unsatisfiable:
            # Nothing to make malformed (no parameters, no body): positive cases cover it.
            if mode is GenerationMode.POSITIVE:
                raise
    return calls


@pytest.mark.parametrize("persona", ["alice", "carol", "dave"])
def test_fuzzing_finds_no_server_error(personas, world, in_process_requests, fast_pdf, persona):
    # given
    token = Token.objects.create(user=personas[persona]).key
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in SKIPPED]

    # when
    calls = {
        op.label: _fuzz_operation(op, headers, world, in_process_requests) for op in operations
    }

    # then
    assert len(calls) >= 40
    assert all(n > 0 for n in calls.values()), calls


# ---- hand-made malformed payloads ------------------------------------------------------

LETTERS = st.text(alphabet=string.ascii_letters + " -_", max_size=20)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has neither
    LETTERS,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(LETTERS, st.integers(), max_size=3),
)
NOT_A_DATE = st.one_of(
    JUNK.filter(lambda v: not isinstance(v, str)), LETTERS, st.just("2024-02-30")
)


def _is_true(value: Any) -> bool:
    """Would DRF's BooleanField read this as true?"""
    try:
        return value in BooleanField.TRUE_VALUES
    except TypeError:  # unhashable: a list or an object
        return False


def _one_field_broken(valid: dict[str, Any], bad: dict[str, Any], optional: str = "") -> Any:
    """A valid payload with one field replaced by a bad value, or (if required) removed."""

    def broken(name: str) -> Any:
        replaced = bad[name].map(lambda value: {**valid, name: value})
        if name == optional:
            return replaced
        return st.one_of(replaced, st.just({k: v for k, v in valid.items() if k != name}))

    return st.sampled_from(sorted(bad)).flatmap(broken)


def _not_an_object() -> Any:
    return st.one_of(st.lists(JUNK, max_size=3), JUNK.filter(lambda v: not isinstance(v, dict)))


def test_malformed_create_payloads_are_400_and_change_nothing(client_for, alice, ml_model):
    # given
    client = client_for(alice)
    valid = valid_create_payload(ml_model.pk)
    bad = {
        "kind": JUNK.filter(lambda v: v not in ForgetRequest.Kind.values),
        "subject_reference": JUNK.filter(lambda v: not isinstance(v, str) or not v.strip()),
        "legal_ground": JUNK.filter(lambda v: v not in ForgetRequest.LegalGround.values),
        "received_on": NOT_A_DATE,
        "models": st.one_of(JUNK, st.lists(st.integers(min_value=1000), min_size=1, max_size=3)),
        "items": st.one_of(JUNK, st.lists(JUNK, min_size=1, max_size=3)),
    }

    # when / then
    @FUZZ_SETTINGS
    @given(payload=st.one_of(_one_field_broken(valid, bad), _not_an_object()))
    def check(payload: Any) -> None:
        response = post(client, "/api/requests/", payload)
        assert response.status_code == 400, (payload, response.content)
        assert ForgetRequest.objects.count() == 0
        assert AuditEvent.objects.count() == 0

    check()


def test_malformed_review_payloads_are_400_and_change_nothing(client_for, bob, in_state):
    # given
    request = in_state("submitted")
    client = client_for(bob)
    events = AuditEvent.objects.count()
    valid = {"identity_verified": True, "identity_method": "Passport", "scope_note": ""}
    bad = {
        "identity_verified": JUNK.filter(lambda v: not _is_true(v)),
        "identity_method": JUNK.filter(lambda v: not isinstance(v, str) or not v.strip()),
        "scope_note": JUNK.filter(lambda v: not isinstance(v, str) and v is not None),
    }

    # when / then
    @FUZZ_SETTINGS
    @given(payload=st.one_of(_one_field_broken(valid, bad, "scope_note"), _not_an_object()))
    def check(payload: Any) -> None:
        response = post(client, url(request, "review"), payload)
        assert response.status_code == 400, (payload, response.content)
        assert AuditEvent.objects.count() == events

    check()
    request.refresh_from_db()
    assert request.status == "submitted"


def test_malformed_extend_payloads_are_400_and_change_nothing(client_for, bob, in_state):
    # given
    request = in_state("submitted")
    client = client_for(bob)
    events = AuditEvent.objects.count()
    today = datetime.date.today()
    valid = {"months": 1, "reason": "Complex", "subject_notified_on": str(today)}
    bad = {
        "months": JUNK.filter(lambda v: isinstance(v, bool) or v not in (1, 2)),  # 1.0 == 1
        "reason": JUNK.filter(lambda v: not isinstance(v, str) or not v.strip()),
        "subject_notified_on": st.one_of(
            NOT_A_DATE, st.dates(min_value=today + datetime.timedelta(days=1)).map(str)
        ),
    }

    # when / then
    @FUZZ_SETTINGS
    @given(payload=st.one_of(_one_field_broken(valid, bad), _not_an_object()))
    def check(payload: Any) -> None:
        response = post(client, url(request, "extend"), payload)
        assert response.status_code == 400, (payload, response.content)
        assert AuditEvent.objects.count() == events

    check()
    request.refresh_from_db()
    assert request.extended_due_on is None


def test_malformed_plans_never_crash_nor_half_create(client_for, dave, approved_request, version):
    # given: a valid plan with its fields, settings and policy values replaced by junk
    client = client_for(dave)
    setting_names = sorted(run_options.method_defaults("grad_ascent"))
    policy_names = sorted(run_options.policy_defaults())
    valid = {
        "model_version": version.pk,
        "requests": [approved_request.pk],
        "method": "grad_ascent",
        "settings": {},
        "policy": {},
        "seed": 0,
    }
    junk_json = st.one_of(JUNK, st.just("1e400"), st.just(10**400), st.just(-(10**400)))
    bad = {
        "model_version": JUNK,
        "requests": st.one_of(JUNK, st.lists(st.integers(min_value=1000), min_size=1, max_size=3)),
        "method": JUNK,
        "settings": st.one_of(JUNK, st.dictionaries(st.sampled_from(setting_names), junk_json)),
        "policy": st.one_of(JUNK, st.dictionaries(st.sampled_from(policy_names), junk_json)),
        "seed": JUNK,
    }

    # when / then: junk that happens to be valid (a seed of 3, lr of true) may plan a run;
    # anything else is a 400 that leaves no run and no audit event behind
    @settings(FUZZ_SETTINGS, max_examples=60)
    @given(payload=st.one_of(_one_field_broken(valid, bad, "seed"), _not_an_object()))
    def check(payload: Any) -> None:
        runs, events = RemediationRun.objects.count(), AuditEvent.objects.count()
        response = post(client, "/api/runs/", payload)
        assert response.status_code in (201, 400), (payload, response.content)
        if response.status_code == 400:
            assert response.json()["detail"]
            assert (RemediationRun.objects.count(), AuditEvent.objects.count()) == (runs, events)

    check()
