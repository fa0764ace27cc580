"""The dashboard and the account's API token page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from rest_framework.authtoken.models import Token

from remediation.models import ForgetRequest
from remediation.roles import APPROVER, OPERATOR, REVIEWER, has_role
from remediation.selectors import due_soon_q, forget_requests_visible_to, overdue_q

Status = ForgetRequest.Status


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """What needs this user's attention, by role."""
    user, today = request.user, timezone.localdate()
    visible = forget_requests_visible_to(user)
    cards = [("My requests", visible.filter(requester_id=user.pk).count(), "")]
    if has_role(user, REVIEWER):
        cards.append(
            (
                "Waiting for review",
                visible.filter(status=Status.SUBMITTED).count(),
                "status=submitted",
            )
        )
    if has_role(user, APPROVER):
        cards.append(
            (
                "Waiting for approval",
                visible.filter(status=Status.IN_REVIEW).count(),
                "status=in_review",
            )
        )
    if has_role(user, OPERATOR):
        cards.append(
            (
                "Approved, to remediate",
                visible.filter(status=Status.APPROVED).count(),
                "status=approved",
            )
        )
    cards.append(("Overdue", visible.filter(overdue_q(today)).count(), "deadline=overdue"))
    cards.append(
        ("Due within 7 days", visible.filter(due_soon_q(today)).count(), "deadline=due_soon")
    )
    recent = visible.order_by("-updated_at")[:10]
    return render(request, "remediation/dashboard.html", {"cards": cards, "recent": recent})


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """Show, create or replace the user's API token."""
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        if request.POST.get("action") != "revoke":
            Token.objects.create(user=request.user)
            messages.success(request, "A new API token was created; the old one no longer works.")
        else:
            messages.info(request, "Your API token was revoked.")
        return redirect("api_token")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "remediation/api_token.html", {"token": token})
