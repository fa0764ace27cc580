"""The model registry over the API: every signed-in user reads, operators register."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from remediation import permissions
from remediation.api.base import (
    API_AUTHENTICATION,
    API_PARSERS,
    API_RENDERERS,
    NOT_VISIBLE,
    Pagination,
    error,
    parse,
)
from remediation.api.filters import ModelVersionFilter
from remediation.api.registry_serializers import (
    MLModelSerializer,
    ModelRegisterSerializer,
    ModelVersionDetailSerializer,
    ModelVersionListSerializer,
)
from remediation.models import MLModel, ModelVersion
from remediation.selectors import model_versions_visible_to, models_visible_to
from remediation.services.errors import NotAllowed
from remediation.services.registry import model_version_register

TAGS = ["models"]


@extend_schema_view(
    list=extend_schema(summary="Models, each with its versions"),
    retrieve=extend_schema(
        summary="One model with its versions",
        responses={200: MLModelSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class MLModelViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = MLModel.objects.none()  # the schema's model; get_queryset restricts
    serializer_class = MLModelSerializer
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[MLModel]:
        return models_visible_to(self.request.user).prefetch_related("versions")

    def get_object(self) -> MLModel:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        summary="Register a model directory as the next version of a model (operator, admin)",
        request=ModelRegisterSerializer,
        responses={
            201: ModelVersionDetailSerializer,
            400: error("Not a valid model directory, or malformed input."),
            403: error("Only operators and admins can register models."),
        },
    )
    def create(self, request: Request) -> Response:
        # Permission before parsing: the path checks would tell a stranger which
        # directories exist on the server.
        if not permissions.can_register_model(request.user):
            raise NotAllowed("Only operators can register models.")
        data = parse(ModelRegisterSerializer, request)
        version = model_version_register(actor=request.user, **data)
        body = ModelVersionDetailSerializer(version, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Model versions (without their manifests)"),
    retrieve=extend_schema(
        summary="One model version with its file manifest",
        responses={200: ModelVersionDetailSerializer, 404: NOT_VISIBLE},
    ),
)
@extend_schema(tags=TAGS)
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ModelVersion.objects.none()  # the schema's model; get_queryset restricts
    authentication_classes = API_AUTHENTICATION
    renderer_classes = API_RENDERERS
    parser_classes = API_PARSERS
    pagination_class = Pagination
    filterset_class = ModelVersionFilter
    ordering_fields = ["created_at", "number"]

    def get_queryset(self) -> QuerySet[ModelVersion]:
        return model_versions_visible_to(self.request.user).select_related("registered_by")

    def get_object(self) -> ModelVersion:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_serializer_class(self) -> type[ModelVersionListSerializer]:
        if self.action == "retrieve":
            return ModelVersionDetailSerializer
        return ModelVersionListSerializer
