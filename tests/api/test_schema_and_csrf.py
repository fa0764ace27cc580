"""The OpenAPI schema and its documentation pages; CSRF on session-authenticated writes."""

import re

from django.core.management import call_command
from django.middleware.csrf import get_token
from rest_framework.test import APIClient

from tests.api.conftest import url
from tests.conftest import PASSWORD


def test_schema_is_served_and_lists_the_endpoints(client_for, alice):
    # when
    response = client_for(alice).get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/token/",
        "/api/requests/",
        "/api/requests/{id}/approve/",
        "/api/requests/{id}/timeline/",
        "/api/models/",
        "/api/model-versions/{id}/",
        "/api/audit/",
        "/api/audit/verify/",
        "/api/audit/export/",
    ]:
        assert path in paths


def test_swagger_and_redoc_are_served_locally(client_for, alice):
    # when
    pages = [client_for(alice).get(path) for path in ("/api/docs/", "/api/redoc/")]

    # then
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert not re.search(r"(src|href)=\"https?://", html), "assets must not come from a CDN"
    assert "swagger-ui" in pages[0].content.decode()


def test_session_write_without_csrf_token_is_refused(alice, in_state):
    # given
    request = in_state("draft")
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)

    # when
    response = client.post(url(request, "submit"), format="json")

    # then
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    request.refresh_from_db()
    assert request.status == "draft"


def test_session_write_with_csrf_token_is_accepted(alice, in_state):
    # given
    request = in_state("draft")
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    page = client.get("/api/requests/")
    token = get_token(page.wsgi_request)
    client.cookies["csrftoken"] = token

    # when
    response = client.post(url(request, "submit"), format="json", HTTP_X_CSRFTOKEN=token)

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"


def test_schema_and_docs_need_a_signed_in_user(db):
    # when
    responses = [APIClient().get(path) for path in ("/api/schema/", "/api/docs/", "/api/redoc/")]

    # then
    assert [r.status_code for r in responses] == [401, 401, 401]


def test_schema_generates_without_warnings(tmp_path):
    # when
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )

    # then
    assert "/api/requests/{id}/review/" in (tmp_path / "schema.yaml").read_text()
