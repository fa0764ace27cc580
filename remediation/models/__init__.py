from remediation.models.audit import AuditEvent, AuditHead
from remediation.models.registry import MLModel, ModelVersion
from remediation.models.reports import ComplianceReport
from remediation.models.requests import ForgetItem, ForgetRequest, RequestKey
from remediation.models.runs import LeakScan, RemediationRun, RunEvent

__all__ = [
    "AuditEvent",
    "AuditHead",
    "ComplianceReport",
    "ForgetItem",
    "ForgetRequest",
    "LeakScan",
    "MLModel",
    "ModelVersion",
    "RemediationRun",
    "RequestKey",
    "RunEvent",
]
