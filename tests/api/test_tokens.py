"""POST/DELETE /api/token/: token authentication."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD


def obtain(client: APIClient, username: str, password: str = PASSWORD):
    return client.post("/api/token/", {"username": username, "password": password}, format="json")


def test_obtain_a_token_and_call_the_api_with_it(alice, in_state):
    # given
    request = in_state("draft")
    client = APIClient()

    # when
    token = obtain(client, "alice").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(f"/api/requests/{request.pk}/")

    # then
    assert response.status_code == 200
    assert response.json()["subject_reference"] == "Maria Okafor, customer 4711"


def test_same_token_until_revoked(alice):
    # when
    first = obtain(APIClient(), "alice").json()["token"]
    second = obtain(APIClient(), "alice").json()["token"]

    # then
    assert first == second


def test_token_auth_needs_no_csrf(alice, ml_model):
    # given
    client = APIClient(enforce_csrf_checks=True)
    token = obtain(client, "alice").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # when
    response = client.post("/api/requests/", {"kind": "pii"}, format="json")

    # then: refused for its content, not for CSRF
    assert response.status_code == 400


def test_wrong_password_is_400(alice):
    # when
    response = obtain(APIClient(), "alice", "wrong")

    # then
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_malformed_token_request_is_400(alice):
    # when
    response = APIClient().post("/api/token/", ["alice"], format="json")

    # then
    assert response.status_code == 400


def test_revoke_own_token(alice):
    # given
    client = APIClient()
    token = obtain(client, "alice").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # when
    revoked = client.delete("/api/token/")
    after = client.get("/api/requests/")

    # then
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert not Token.objects.exists()


def test_revoking_needs_authentication():
    # when
    response = APIClient().delete("/api/token/")

    # then
    assert response.status_code in (401, 403)


def test_bad_token_is_401(db):
    # given
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # when
    response = client.get("/api/requests/")

    # then
    assert response.status_code == 401
