"""The report as an A4 PDF: rendered from a signed document with WeasyPrint.

The PDF carries the whole signed document as its `evidence.json` attachment, so the PDF
alone is enough to verify the report offline (see verify.py). Charts are inline SVG, so
they stay vector. Nothing is fetched while rendering: the template is self-contained.
"""

import json
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from weasyprint import HTML, Attachment
from weasyprint.urls import URLFetcher

from remediation.models import ForgetRequest
from remediation.reports.charts_svg import report_charts
from remediation.reports.fields import field_value, render_fields
from remediation.reports.verify import ATTACHMENT_NAME

__all__ = [
    "ATTACHMENT_NAME",
    "evidence_json",
    "render_fields",
    "render_report_html",
    "render_report_pdf",
    "report_context",
]

TEMPLATE = "reports/report_pdf.html"
OPS = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠", "<": "<", ">": ">"}
ATTACK_LABELS = {
    "quantize_4bit": "after 4-bit quantisation",
    "quantize_8bit": "after 8-bit quantisation",
    "relearn": "after relearning",
}
SECTIONS = (
    "report",
    "requests",
    "scope",
    "method",
    "evidence",
    "charts",
    "residual_risk",
    "signoffs",
    "audit",
    "retention",
)


class _OfflineFetcher(URLFetcher):
    """Refuses every URL: a report must render the same anywhere, and a value in the
    bundle must never make the server fetch something."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError(f"report rendering fetches nothing (asked for {url[:80]})")


# --- formatting --------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _num(value: Any) -> str:
    """A number for people: four significant digits, a dash for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return value if isinstance(value, str) else field_value(value)


def _optional(value: Any) -> str:
    return "" if value is None or value == "" else _text(value)


def _label(choices: dict[str, str], code: Any) -> str:
    return choices.get(code, _text(code)) if isinstance(code, str) else _text(code)


def _attack_label(name: str) -> str:
    return ATTACK_LABELS.get(name, f"after {name.replace('_', ' ')}")


def _texts(mapping: dict[str, Any], *keys: str) -> dict[str, str]:
    """The printed text of each of `keys` in `mapping` (a dash where it is missing)."""
    return {key: _text(mapping.get(key)) for key in keys}


def _pairs(mapping: Any) -> list[tuple[str, str]]:
    """A small dict (settings, policy) as sorted (key, printed value) rows."""
    return [(str(k), _text(v)) for k, v in sorted(_dict(mapping).items(), key=lambda kv: kv[0])]


# --- sections ----------------------------------------------------------------------------


def _requests(bundle: dict[str, Any]) -> list[dict[str, str]]:
    kinds, grounds = dict(ForgetRequest.Kind.choices), dict(ForgetRequest.LegalGround.choices)
    rows = []
    for request in _list(bundle.get("requests")):
        dates = _texts(request, "received_on", "due_on", "completed_on")
        rows.append(
            {
                **_texts(request, "ticket", "subject_hash"),
                **dates,
                "kind": _label(kinds, request.get("kind")),
                "legal_ground": _label(grounds, request.get("legal_ground")),
                # Blank, not a dash: the template prints the extension only when there is one.
                "extended_due_on": _optional(request.get("extended_due_on")),
                "extension_reason": _optional(request.get("extension_reason")),
            }
        )
    return rows


def _version(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return _texts(value, "number", "id", "manifest_digest")


def _method(bundle: dict[str, Any]) -> dict[str, Any]:
    method = _dict(bundle.get("method"))
    forget, retain = _dict(method.get("forget_set")), _dict(method.get("retain_set"))
    return {
        **_texts(method, "name", "seed", "device"),
        "compute_seconds": _num(method.get("compute_seconds")),
        "forget_set": _texts(forget, "size", "digest"),
        "retain_set": _texts(retain, "size", "digest"),
        "settings": _pairs(method.get("settings")),
    }


def _metrics(evidence: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Metric rows and the attack columns they share (in first-seen order)."""
    metrics = _list(evidence.get("metrics"))
    attacks: list[str] = []
    for metric in metrics:
        attacks += [a for a in _dict(metric.get("after_attacks")) if a not in attacks]
    rows = []
    for metric in metrics:
        after_attacks = _dict(metric.get("after_attacks"))
        rows.append(
            {
                "name": _text(metric.get("name")),
                "reference": _num(metric.get("reference")),
                "before": _num(metric.get("before")),
                "after": _num(metric.get("after")),
                "attacks": [_num(after_attacks.get(a)) for a in attacks],
            }
        )
    return [_attack_label(a) for a in attacks], rows


def _evidence(bundle: dict[str, Any]) -> dict[str, Any]:
    evidence = _dict(bundle.get("evidence"))
    checks = [
        {
            "name": _text(check.get("name")),
            "value": _text(check.get("value")),
            "op": _label(OPS, check.get("op")),
            "threshold": _text(check.get("threshold")),
            "passed": check.get("passed") is True,
        }
        for check in _list(evidence.get("checks"))
    ]
    attack_columns, metrics = _metrics(evidence)
    return {
        "passed": evidence.get("passed") is True,
        "checks": checks,
        "attack_columns": attack_columns,
        "metrics": metrics,
        "policy": _pairs(evidence.get("policy")),
    }


def _residual_risk(bundle: dict[str, Any]) -> dict[str, Any]:
    risk = _dict(bundle.get("residual_risk"))
    recovery = [
        (_attack_label(k).removeprefix("after "), _num(v))
        for k, v in _dict(risk.get("recovery")).items()
    ]
    recommendations = risk.get("recommendations")
    return {
        "recovery": recovery,
        "statement": risk.get("statement") if isinstance(risk.get("statement"), str) else "",
        "recommendations": [str(r) for r in recommendations]
        if isinstance(recommendations, list)
        else [],
    }


def _audit(bundle: dict[str, Any]) -> dict[str, Any]:
    audit = _dict(bundle.get("audit"))
    head = _dict(audit.get("chain_head"))
    events = [
        _texts(event, "seq", "time", "action", "actor", "hash")
        for event in _list(audit.get("events"))
    ]
    return {"events": events, "head": _texts(head, "seq", "hash")}


def _report(bundle: dict[str, Any]) -> dict[str, Any]:
    report = _dict(bundle.get("report"))
    software = _texts(_dict(report.get("software")), "name", "version", "commit")
    return {**_texts(report, "id", "issued_at", "format_version"), "software": software}


def _scope(bundle: dict[str, Any]) -> dict[str, Any]:
    scope = _dict(bundle.get("scope"))
    return {
        "model": _text(scope.get("model")),
        "input_version": _version(scope.get("input_version")),
        "output_version": _version(scope.get("output_version")),
    }


def report_context(document: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, formatted: the template itself holds no logic."""
    bundle = _dict(document.get("bundle"))
    # mark_safe is sound here: the SVG builders escape every piece of text they emit.
    charts = [
        chart._replace(svg=mark_safe(chart.svg)) for chart in report_charts(bundle.get("charts"))
    ]
    return {
        "document": _texts(document, "digest", "signature", "key_id", "algorithm", "public_key"),
        "report": _report(bundle),
        "requests": _requests(bundle),
        "scope": _scope(bundle),
        "method": _method(bundle),
        "evidence": _evidence(bundle),
        "charts": charts,
        "residual_risk": _residual_risk(bundle),
        "signoffs": [
            _texts(s, "role", "name", "decision", "time") for s in _list(bundle.get("signoffs"))
        ],
        "audit": _audit(bundle),
        "shred_after": _text(_dict(bundle.get("retention")).get("shred_after")),
        "verification_fields": render_fields(bundle),
        "other_keys": sorted(str(k) for k in bundle if k not in SECTIONS),
        "attachment_name": ATTACHMENT_NAME,
    }


# --- rendering ---------------------------------------------------------------------------


def evidence_json(document: dict[str, Any]) -> str:
    """The signed document as the attached file: readable JSON; verification recomputes
    the canonical form, so indentation does not matter."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def render_report_html(document: dict[str, Any]) -> str:
    """The PDF's HTML source (useful to debug the layout in a browser)."""
    return render_to_string(TEMPLATE, report_context(document))


def render_report_pdf(document: dict[str, Any]) -> bytes:
    """The signed document as an A4 PDF with the document attached as evidence.json."""
    fetcher = _OfflineFetcher()
    attachment = Attachment(
        string=evidence_json(document),
        name=ATTACHMENT_NAME,
        description="Signed evidence bundle (Ed25519); verify with manage.py report_verify",
        relationship="Data",
        url_fetcher=fetcher,
    )
    html = HTML(string=render_report_html(document), base_url=None, url_fetcher=fetcher)
    return html.write_pdf(attachments=[attachment])
