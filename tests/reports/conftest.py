"""A realistic report bundle, a signing key and the signed document and PDF built from them.

PLANTED_ITEMS are the kind of item text a forget request holds. The bundle is built
without them, as the lead's bundle builder does, and tests check that nothing the
renderer adds ever brings them into a report.
"""

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from remediation.reports.signing import sign_bundle

PLANTED_ITEMS = [
    "Jane Q. Example lives at 12 Elm Street, Springfield",
    "jane.example@mail.test",
    "+44 20 7946 0958",
]

PROBES = ["verbatim", "paraphrase", "jailbreak", "few_shot", "sampled"]


def _request(n: int) -> dict[str, Any]:
    return {
        "ticket": f"FR-{n:05d}",
        "subject_hash": f"{n:02x}" * 32,
        "kind": "pii",
        "legal_ground": "art17_1b",
        "received_on": "2026-11-20",
        "due_on": "2026-12-20",
        "extended_due_on": "2027-02-20" if n == 2 else None,
        "extension_reason": "complex request: several models" if n == 2 else "",
        "completed_on": "2026-11-27",
    }


def _evidence() -> dict[str, Any]:
    checks = [
        ("verbatim_extraction", 0.0, "<=", 0.0),
        ("paraphrase_extraction", 0.02, "<=", 0.05),
        ("mia_auc", 0.52, "<=", 0.6),
        ("utility_drop", 0.017, "<=", 0.05),
        ("relearn_recovery", 0.05, "<=", 0.1),
    ]
    return {
        "policy": {"max_extraction": 0.0, "max_mia_auc": 0.6, "max_utility_drop": 0.05},
        "passed": True,
        "checks": [
            {"name": n, "value": v, "op": op, "threshold": t, "passed": True}
            for n, v, op, t in checks
        ],
        "metrics": [
            {
                "name": "verbatim extraction",
                "before": 1.0,
                "after": 0.0,
                "after_attacks": {"quantize_4bit": 0.0, "quantize_8bit": 0.0, "relearn": 0.1},
                "reference": 0.0,
            },
            {
                "name": "MIA AUC (loss)",
                "before": 0.97,
                "after": 0.52,
                "after_attacks": {"quantize_4bit": 0.55, "quantize_8bit": 0.52, "relearn": 0.61},
                "reference": 0.5,
            },
        ],
    }


def _charts() -> dict[str, Any]:
    steps = list(range(0, 60, 5))
    return {
        "extraction_by_probe": {
            "probes": PROBES,
            "before": [1.0, 0.8, 0.6, 0.4, 0.7],
            "after": [0.0, 0.0, 0.2, 0.0, 0.1],
        },
        "exposure": {
            "forget_before": [18.5, 21.0, 24.2, 19.9, 26.0],
            "forget_after": [2.1, 3.4, 1.2, 4.0, 2.6],
            "holdout": [round((i * 37 % 50) / 10, 2) for i in range(60)],
        },
        "roc": {
            name: {
                "fpr": [0.0, 0.1, 0.4, 0.7, 1.0],
                "tpr": [0.0, 0.12 + d, 0.45, 0.72, 1.0],
                "auc": a,
            }
            for name, d, a in [
                ("loss", 0.0, 0.52),
                ("zlib", 0.03, 0.53),
                ("min_k", 0.05, 0.55),
                ("min_k_plus_plus", 0.02, 0.51),
            ]
        },
        "utility": {"before": 12.1, "after": 12.3},
        "training": {
            "step": steps,
            "forget_loss": [2.0 + 0.15 * i for i in range(len(steps))],
            "retain_loss": [2.0 + 0.01 * (i % 3) for i in range(len(steps))],
        },
    }


def build_sample_bundle() -> dict[str, Any]:
    """A finished run's bundle as the site builds it: identifiers, hashes, dates, numbers."""
    return {
        "report": {
            "id": "3f0c8a2e-6d1b-4c55-9a57-2b8e0d4f7a11",
            "format_version": 1,
            "issued_at": "2026-11-28T09:15:00+00:00",
            "software": {"name": "unlearn", "version": "0.1.0", "commit": "abc123"},
        },
        "requests": [_request(1), _request(2)],
        "scope": {
            "model": "demo-gpt2",
            "input_version": {"id": 1, "number": 1, "manifest_digest": "a1" * 32},
            "output_version": {"id": 2, "number": 2, "manifest_digest": "b2" * 32},
        },
        "method": {
            "name": "default",
            "settings": {"steps": 60, "learning_rate": 1e-05, "loss": "npo"},
            "seed": 0,
            "forget_set": {"size": 5, "digest": "c3" * 32},
            "retain_set": {"size": 400, "digest": "d4" * 32},
            "compute_seconds": 12.3,
            "device": "cpu",
        },
        "evidence": _evidence(),
        "charts": _charts(),
        "residual_risk": {
            "recovery": {"quantize_4bit": 0.02, "quantize_8bit": 0.0, "relearn": 0.05},
            "statement": "Residual risk is low: no attack recovered more than 5% of the data.",
            "recommendations": ["Re-test after the next fine-tune.", "Keep the forget set sealed."],
        },
        "signoffs": [
            {"role": "reviewer", "name": "Bob Demo", "decision": "reviewed FR-00001", "time": None},
            {
                "role": "approver",
                "name": "Carol Demo",
                "decision": "approved",
                "time": "2026-11-27T16:00:00+00:00",
            },
        ],
        "audit": {
            "events": [
                {
                    "seq": s,
                    "time": f"2026-11-2{s % 8}T10:00:00+00:00",
                    "action": a,
                    "actor": w,
                    "hash": f"{s:02x}" * 32,
                }
                for s, a, w in [
                    (12, "forget_request.submitted", "alice"),
                    (14, "forget_request.approved", "carol"),
                    (30, "run.completed", "system"),
                    (39, "run.signed_off", "carol"),
                ]
            ],
            "chain_head": {"seq": 40, "hash": "ee" * 32},
        },
        "retention": {"shred_after": "2026-12-27"},
    }


@pytest.fixture
def sample_bundle() -> dict[str, Any]:
    return build_sample_bundle()


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def signed_document_master(signing_key: Ed25519PrivateKey) -> dict[str, Any]:
    return sign_bundle(build_sample_bundle(), signing_key)


@pytest.fixture
def signed_document(signed_document_master: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy per test, so a test that tampers with it cannot leak into another."""
    return copy.deepcopy(signed_document_master)


@pytest.fixture(scope="session")
def report_pdf(signed_document_master: dict[str, Any]) -> bytes:
    """The sample report's PDF, rendered once: WeasyPrint takes a second or two."""
    from remediation.reports.pdf import render_report_pdf

    return render_report_pdf(signed_document_master)


@pytest.fixture(scope="session")
def report_pages_text(report_pdf: bytes) -> list[str]:
    """The text of each page of the sample PDF, extracted once (pypdf is slow at it)."""
    import io

    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(report_pdf)).pages]
