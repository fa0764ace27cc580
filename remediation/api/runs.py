"""Remediation runs over the API: the methods on offer, planning, approval, progress,
cancellation, and the sign-off that issues the compliance report.

Each view starts from the runs visible to the user (an unseen run is a 404), parses its
input and calls the service, which checks the actor's role, the four-eyes and
separation-of-duties rules and the run's state; the exception handler turns a refusal
into 400/403/409.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from remediation import permissions
from remediation.api.base import (
    ACTION_ERRORS,
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    parse,
)
from remediation.api.filters import RunFilter
from remediation.api.forget_request_serializers import ReasonSerializer
from remediation.api.report_serializers import ReportSerializer
from remediation.api.run_serializers import (
    EventsQuerySerializer,
    MethodsSerializer,
    NoteSerializer,
    RunDetailSerializer,
    RunEventSerializer,
    RunListSerializer,
    RunPlanSerializer,
)
from remediation.models import RemediationRun
from remediation.selectors import runs_visible_to
from remediation.services import run_options
from remediation.services import runs as services
from remediation.services.errors import NotAllowed, ValidationFailed
from remediation.services.signoff import run_send_back, run_signoff

TAGS = ["runs"]


def _detail(request: Request, run: RemediationRun, code: int = 200) -> Response:
    return Response(RunDetailSerializer(run, context={"request": request}).data, status=code)


def _plan(request: Request) -> RemediationRun:
    data = parse(RunPlanSerializer, request)
    return services.run_plan(
        actor=request.user,
        model_version=data["model_version"],
        requests=data["requests"],
        method=data.get("method") or run_options.default_method(),
        settings_=data["settings"],
        policy=data["policy"],
        seed=data["seed"],
    )


@extend_schema(tags=TAGS)
class MethodsView(APIView):
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS

    @extend_schema(
        summary="The remediation methods with their default settings, and the default policy",
        responses=MethodsSerializer,
    )
    def get(self, request: Request) -> Response:
        default = run_options.default_method()
        methods = [
            {"name": n, "default": n == default, "settings": run_options.method_defaults(n)}
            for n in run_options.method_names()
        ]
        policy = run_options.policy_defaults()
        return Response({"default_method": default, "methods": methods, "policy": policy})


@extend_schema_view(
    list=extend_schema(
        summary="The remediation runs you may see", responses=RunListSerializer(many=True)
    ),
    retrieve=extend_schema(
        summary="One run: state, progress, settings, policy and the verdict of verification",
        responses={200: RunDetailSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class RunViewSet(viewsets.GenericViewSet):
    queryset = RemediationRun.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = RunDetailSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    filterset_class = RunFilter
    ordering_fields = ["created_at", "status"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self) -> QuerySet[RemediationRun]:
        return runs_visible_to(self.request.user)

    def get_object(self) -> RemediationRun:
        # Not narrowed by the list's query filters: any visible run can be acted on.
        runs = self.get_queryset().select_related("approved_by", "signed_off_by", "report")
        return get_object_or_404(runs, pk=self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RunListSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _detail(request, self.get_object())

    @extend_schema(
        summary="Plan a run (operator); an approver other than you must approve it",
        request=RunPlanSerializer,
        responses={201: RunDetailSerializer, 400: ACTION_ERRORS[400], 403: ACTION_ERRORS[403]},
    )
    def create(self, request: Request) -> Response:
        if not permissions.can_plan_run(request.user):
            raise NotAllowed("Only operators can plan remediation runs.")
        return _detail(request, _plan(request), status.HTTP_201_CREATED)

    @extend_schema(
        summary="The run's persisted progress events, in order; `after` skips those seen",
        parameters=[EventsQuerySerializer],
        responses={200: RunEventSerializer(many=True), 400: ACTION_ERRORS[400], 404: NOT_VISIBLE},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        query = EventsQuerySerializer(data=request.query_params)
        if not query.is_valid():
            message = "after: give the seq of the last event you have."
            raise ValidationFailed(message, dict(query.errors))
        events = run.events.filter(seq__gt=query.validated_data["after"]).order_by("seq")
        page = self.paginate_queryset(events)
        payloads = [services.run_event_payload(event, run) for event in page]
        return self.get_paginated_response(RunEventSerializer(payloads, many=True).data)

    @extend_schema(
        summary="Approve a planned run and queue it (approver; never its planner)",
        request=None,
        responses={200: RunDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        services.run_approve(run=run, actor=request.user)
        return _detail(request, run)

    @extend_schema(
        summary="Reject a planned run with a reason (approver; never its planner)",
        request=ReasonSerializer,
        responses={200: RunDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        data = parse(ReasonSerializer, request)
        services.run_reject(run=run, actor=request.user, **data)
        return _detail(request, run)

    @extend_schema(
        summary="Cancel a run (operator, admin): at once if not started, else between steps",
        request=None,
        responses={200: RunDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        services.run_cancel(run=run, actor=request.user)
        return _detail(request, run)

    @extend_schema(
        summary="Sign off a verified run and issue its signed report (approver who neither "
        "planned the run nor filed one of its requests)",
        request=NoteSerializer,
        responses={201: ReportSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def signoff(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        data = parse(NoteSerializer, request)
        report = run_signoff(run=run, actor=request.user, **data)
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a verified run back with a reason; its requests can be re-planned",
        request=ReasonSerializer,
        responses={200: RunDetailSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        data = parse(ReasonSerializer, request)
        run_send_back(run=run, actor=request.user, **data)
        return _detail(request, run)
