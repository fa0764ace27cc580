"""The report's SVG charts: valid XML, accessible, the right marks, never an exception."""

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.reports.charts_svg import (
    exposure_svg,
    extraction_by_probe_svg,
    nice_ticks,
    report_charts,
    roc_svg,
    training_svg,
    utility_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text
    assert root.get("aria-labelledby") == title.get("id")
    return root


def _marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def _texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


def test_extraction_chart_has_a_bar_per_probe_and_phase(sample_bundle: dict[str, Any]) -> None:
    # given five probes measured before and after
    chart = sample_bundle["charts"]["extraction_by_probe"]

    # when the chart is drawn
    root = _parse(extraction_by_probe_svg(chart))

    # then there are ten bars, a legend and a label per probe
    assert len(_marks(root, "rect", "bar")) == 10
    assert {"before", "after", "verbatim", "few-shot", "extraction rate"} <= set(_texts(root))


def test_missing_values_leave_gaps_not_errors() -> None:
    root = _parse(
        extraction_by_probe_svg({"probes": ["a", "b"], "before": [1.0, "x"], "after": [0.5]})
    )
    assert len(_marks(root, "rect", "bar")) == 2


def test_exposure_chart_has_a_dot_per_item_and_a_median_per_group(
    sample_bundle: dict[str, Any],
) -> None:
    chart = sample_bundle["charts"]["exposure"]
    root = _parse(exposure_svg(chart))
    expected = sum(len(chart[k]) for k in ("forget_before", "forget_after", "holdout"))
    assert len(_marks(root, "circle", "point")) == expected == 70
    assert len(_marks(root, "line", "median")) == 3


def test_roc_chart_has_a_line_per_score_and_the_diagonal(sample_bundle: dict[str, Any]) -> None:
    root = _parse(roc_svg(sample_bundle["charts"]["roc"]))
    assert len(_marks(root, "polyline", "series")) == 4
    assert len(_marks(root, "line", "diagonal")) == 1
    assert "Min-K%++ (AUC 0.51)" in _texts(root)


def test_utility_chart_is_a_pair_of_bars(sample_bundle: dict[str, Any]) -> None:
    root = _parse(utility_svg(sample_bundle["charts"]["utility"]))
    assert len(_marks(root, "rect", "bar")) == 2
    assert {"12.1", "12.3"} <= set(_texts(root))


def test_training_chart_has_both_loss_curves(sample_bundle: dict[str, Any]) -> None:
    root = _parse(training_svg(sample_bundle["charts"]["training"]))
    lines = _marks(root, "polyline", "series")
    assert len(lines) == 2
    assert all(len(line.get("points", "").split()) == 12 for line in lines)


@pytest.mark.parametrize(
    "build", [extraction_by_probe_svg, exposure_svg, roc_svg, utility_svg, training_svg]
)
@pytest.mark.parametrize("data", [None, {}, [], "x", {"probes": [], "before": [], "fpr": []}])
def test_no_data_gives_a_small_placeholder(build: Any, data: Any) -> None:
    root = _parse(build(data))
    assert "No data" in _texts(root)


def test_text_is_escaped() -> None:
    # given probe names that look like markup
    chart = {
        "probes": ['<script>alert("x")</script>', "a & b"],
        "before": [1, 0.5],
        "after": [0, 0],
    }

    # when drawn, then the SVG still parses and shows the names as text
    root = _parse(extraction_by_probe_svg(chart))
    assert {'<script>alert("x")</script>', "a & b"} <= set(_texts(root))
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_report_charts_are_the_five_in_order(sample_bundle: dict[str, Any]) -> None:
    charts = report_charts({**sample_bundle["charts"], "unknown_extra": {"a": 1}})
    assert [c.key for c in charts] == [
        "extraction_by_probe",
        "exposure",
        "roc",
        "utility",
        "training",
    ]
    for chart in charts:
        _parse(chart.svg)


@settings(max_examples=80, database=None, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["extraction_by_probe", "exposure", "roc", "utility", "training", "other"]),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=5)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "probes",
                            "before",
                            "after",
                            "loss",
                            "fpr",
                            "tpr",
                            "auc",
                            "step",
                            "forget_loss",
                            "holdout",
                            "forget_before",
                        ]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=15,
        ),
    )
)
def test_arbitrary_chart_data_never_raises(charts: dict[str, Any]) -> None:
    for chart in report_charts(charts):
        _parse(chart.svg)


@settings(database=None, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_nice_ticks_cover_the_range(low: float, high: float) -> None:
    # when ticks are chosen for any range
    ticks = nice_ticks(min(low, high), max(low, high))

    # then they cover it (to a billionth of a step: float noise is not worth a tick)
    slack = (ticks[1] - ticks[0]) * 1e-9
    assert ticks[0] <= min(low, high) + slack and ticks[-1] >= max(low, high) - slack
    assert 2 <= len(ticks) <= 12
