"""The PDF: layout facts, the evidence attachment, vector charts that actually draw."""

import io
import json
import re
from typing import Any

import pypdfium2
from pypdf import PdfReader

from remediation.reports.fields import comparable
from remediation.reports.pdf import render_fields, report_context
from tests.reports.conftest import PLANTED_ITEMS

SECTION_TITLES = [
    "1. Report",
    "2. Requests",
    "3. Scope",
    "4. Method",
    "5. Evidence",
    "6. Charts",
    "7. Residual risk",
    "8. Sign-offs",
    "9. Audit trail",
    "10. Retention",
]


def test_pdf_renders_several_a4_pages(report_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(report_pdf))
    assert report_pdf.startswith(b"%PDF-")
    assert len(reader.pages) >= 2
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points


def test_evidence_attachment_round_trips(
    report_pdf: bytes, signed_document: dict[str, Any]
) -> None:
    # when the attachment is read back from the PDF
    attachments = PdfReader(io.BytesIO(report_pdf)).attachments

    # then it is exactly the signed document
    assert list(attachments) == ["evidence.json"]
    assert json.loads(attachments["evidence.json"][0]) == signed_document


def test_first_page_shows_digest_key_id_and_signature(
    report_pages_text: list[str], signed_document: dict[str, Any]
) -> None:
    first = comparable(report_pages_text[0])
    for value in ("digest", "key_id", "signature"):
        assert comparable(signed_document[value]) in first, value


def test_every_page_footer_names_report_digest_and_page(
    report_pages_text: list[str], signed_document: dict[str, Any]
) -> None:
    pages = report_pages_text
    report_id = signed_document["bundle"]["report"]["id"]
    for number, text in enumerate(pages, start=1):
        assert f"Report {report_id}" in text, number
        assert f"Bundle digest {signed_document['digest']}" in text, number
        assert f"Page {number} / {len(pages)}" in text, number


def test_sections_appear_in_order(report_pages_text: list[str]) -> None:
    text = "\n".join(report_pages_text)
    positions = [text.find(f"\n{title}\n") for title in SECTION_TITLES]
    assert -1 not in positions and positions == sorted(positions)


def test_tables_show_checks_metrics_and_audit_positions(report_pages_text: list[str]) -> None:
    text = "\n".join(report_pages_text)
    assert "relearn_recovery 0.05 ≤ 0.1 pass" in text
    assert "after 4-bit quantisation" in text and "after relearning" in text
    assert "GDPR Art. 17(1)(b)" in text
    assert re.search(r"#40, hash e{20}", text)


def test_verification_fields_are_printed_one_per_line(
    report_pages_text: list[str], sample_bundle: dict[str, Any]
) -> None:
    lines = {comparable(line) for line in "\n".join(report_pages_text).splitlines()}
    fields = render_fields(sample_bundle)
    assert "scope.model: demo-gpt2" in fields
    assert "check[mia_auc].threshold: <= 0.6" in fields
    assert all(comparable(field) in lines for field in fields)


def test_fields_escape_what_the_font_cannot_show() -> None:
    # given a sign-off name in a script the PDF's monospace font lacks, and a backslash
    bundle = {"signoffs": [{"name": "José 王", "decision": "a\\u738b"}]}

    # when / then Latin letters print as themselves, the rest as unambiguous escapes
    fields = render_fields(bundle)
    assert "signoff[1].name: José \\u738b" in fields
    assert "signoff[1].decision: a\\\\u738b" in fields


def test_no_item_text_reaches_the_report(report_pdf: bytes, report_pages_text: list[str]) -> None:
    # given item text a request would hold (never put in the bundle)
    text = "\n".join(report_pages_text)
    attachment = PdfReader(io.BytesIO(report_pdf)).attachments["evidence.json"][0].decode()

    # then neither the printed report nor its evidence contains any of it
    for item in PLANTED_ITEMS:
        assert item not in text and item not in attachment


def test_charts_are_vector_and_draw_ink(report_pdf: bytes) -> None:
    # given the pages that hold the charts
    reader = PdfReader(io.BytesIO(report_pdf))
    chart_pages = [i for i, p in enumerate(reader.pages) if "Figure " in p.extract_text()]
    assert chart_pages

    document = pypdfium2.PdfDocument(report_pdf)
    try:
        for index in chart_pages:
            # then they embed no raster image (the charts stay vector) ...
            assert not reader.pages[index].images
            # ... and rendered to pixels, a good share of the page is ink
            image = document[index].render(scale=0.5).to_pil().convert("L")
            ink = sum(image.histogram()[:235])
            assert ink / (image.width * image.height) > 0.04, index
    finally:
        document.close()


def test_context_tolerates_a_sparse_bundle_with_extra_sections() -> None:
    # given a bundle with nothing but an unknown section and some wrong types
    document = {"bundle": {"requests": "none", "scope": [], "future_section": {"x": 1}}}

    # when the template context is built
    context = report_context(document)

    # then every section is empty rather than failing, and the extra is named
    assert context["requests"] == [] and context["scope"]["model"] == "—"
    assert context["other_keys"] == ["future_section"]
    assert len(context["charts"]) == 5
