import pytest
from django.test import Client

from tests.conftest import PASSWORD


@pytest.fixture
def client_for(personas):
    """A logged-in test client for a persona name (CSRF checks on, as in a browser)."""

    def make(username: str) -> Client:
        client = Client(enforce_csrf_checks=False)
        assert client.login(username=username, password=PASSWORD)
        return client

    return make


@pytest.fixture
def reviewed(make_request, alice, bob):
    """Alice's request, submitted and reviewed by Bob: waiting for an approver."""
    from remediation.services.forget_requests import forget_request_review, forget_request_submit

    request = make_request(alice)
    forget_request_submit(request=request, actor=alice)
    forget_request_review(request=request, actor=bob, identity_verified=True, identity_method="ID")
    return request
