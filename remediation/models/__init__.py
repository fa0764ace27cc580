from remediation.models.audit import AuditEvent, AuditHead
from remediation.models.registry import MLModel, ModelVersion
from remediation.models.requests import ForgetItem, ForgetRequest, RequestKey

__all__ = [
    "AuditEvent",
    "AuditHead",
    "ForgetItem",
    "ForgetRequest",
    "MLModel",
    "ModelVersion",
    "RequestKey",
]
