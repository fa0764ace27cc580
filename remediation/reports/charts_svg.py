"""Vector charts for the PDF report: small SVG builders with no dependencies.

Each public function returns one standalone SVG document as a string, with a `<title>`,
`role="img"`, axes, ticks and a legend. Bundle data is untrusted in shape: missing or
malformed data gives a small "no data" chart, never an exception, and every piece of
text is escaped. Marks carry classes (`bar`, `point`, `series`, `diagonal`) so tests and
stylesheets can find them.
"""

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, NamedTuple

WIDTH, HEIGHT = 520, 270
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies and in greyscale.
BEFORE, AFTER, HOLDOUT = "#E69F00", "#0072B2", "#009E73"
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
SCORE_LABELS = {"loss": "Loss", "zlib": "zlib", "min_k": "Min-K%", "min_k_plus_plus": "Min-K%++"}
PROBE_LABELS = {"few_shot": "few-shot"}
# Far beyond any rate, loss, bit count or perplexity a report plots; larger values are
# dropped, as a scale computed from them would overflow.
PLOT_LIMIT = 1e15
TITLES = {
    "extraction_by_probe": "Extraction rate by probe",
    "exposure": "Exposure of forget-set items",
    "roc": "Membership inference after unlearning (ROC)",
    "utility": "Utility before and after",
    "training": "Training curves",
}


class Chart(NamedTuple):
    """One chart of the report, ready for a template."""

    key: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class _Frame:
    """The plot area in pixels and the data ranges it shows."""

    left: float
    top: float
    right: float
    bottom: float
    x_min: float = 0.0
    x_max: float = 1.0
    y_min: float = 0.0
    y_max: float = 1.0

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1.0
        return self.left + (value - self.x_min) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        return self.bottom - (value - self.y_min) / span * (self.bottom - self.top)


def _frame(**ranges: float) -> _Frame:
    return _Frame(left=62, top=62, right=WIDTH - 18, bottom=HEIGHT - 46, **ranges)


# --- values ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A plottable number, or None for anything else (bools, strings, NaN, 1e308, ...)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) and abs(number) <= PLOT_LIMIT else None


def _numbers(values: Any) -> list[float | None]:
    return [_number(v) for v in values] if isinstance(values, list | tuple) else []


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _fmt(value: float) -> str:
    """Short, human number: 0.1 not 0.10000000000000001, 12 not 12.0."""
    return f"{float(f'{value:.6g}'):g}"


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]; the first and last bound the axis."""
    low, high = min(low, high), max(low, high)
    if high - low <= max(abs(low), abs(high)) * 1e-9:
        # Flat data (or a span lost in rounding) still needs an axis with some height.
        pad = abs(low) * 0.5 or 1.0
        low, high = low - pad, high + pad
    step = _nice_step(high - low, count)
    start, stop = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    # Twelve significant digits drop float noise (0.30000000000000004) but keep any scale.
    return [float(f"{i * step:.12g}") for i in range(start, stop + 1)]


# --- SVG primitives ----------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _attrs(extra: dict[str, str]) -> str:
    """Keyword arguments as SVG attributes: font_weight="bold" -> font-weight="bold"."""
    return "".join(f' {name.replace("_", "-")}="{escape(v)}"' for name, v in extra.items())


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = 9,
    anchor: str = "start",
    fill: str = INK,
    **extra: str,
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{_attrs(extra)}>{escape(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, **extra: str) -> str:
    attrs = _attrs(extra)
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{attrs}/>'
    )


def _svg(chart_id: str, title: str, body: list[str], desc: str = "") -> str:
    ident = _slug(chart_id)
    description = f'<desc id="{ident}-desc">{escape(desc)}</desc>' if desc else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{ident}-title" font-family="{FONT}">'
        f'<title id="{ident}-title">{escape(title)}</title>{description}'
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
        f"{_text(12, 20, title, size=12, font_weight='bold')}{''.join(body)}</svg>"
    )


def no_data_svg(chart_id: str, title: str) -> str:
    """A small placeholder chart saying there is no data to show."""
    body = [
        f'<rect x="12" y="34" width="{WIDTH - 24}" height="{HEIGHT - 46}" fill="none" '
        f'stroke="{GRID}" stroke-dasharray="4 3"/>',
        _text(WIDTH / 2, HEIGHT / 2 + 10, "No data", size=12, anchor="middle", fill=MUTED),
    ]
    return _svg(chart_id, title, body, desc="No data was recorded for this chart.")


def _legend(items: Sequence[tuple[str, str]], *, dashed: Sequence[str] = ()) -> list[str]:
    """A legend row under the title; `dashed` labels get a dashed line swatch."""
    parts, x = [], 12.0
    for label, colour in items:
        if label in dashed:
            parts.append(_line(x, 36, x + 14, 36, colour, stroke_dasharray="4 3"))
        else:
            parts.append(
                f'<rect class="legend-swatch" x="{x:.1f}" y="31" width="14" height="10" '
                f'fill="{colour}"/>'
            )
        parts.append(_text(x + 19, 40, label, size=9))
        x += 19 + 5.6 * len(label) + 16
    return parts


def _y_axis(frame: _Frame, ticks: Sequence[float], label: str) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        parts.append(_line(frame.left, y, frame.right, y, GRID, stroke_width="0.6"))
        parts.append(_text(frame.left - 6, y + 3, _fmt(tick), size=8, anchor="end", fill=MUTED))
    parts.append(_line(frame.left, frame.top, frame.left, frame.bottom, INK))
    middle = (frame.top + frame.bottom) / 2
    parts.append(
        _text(16, middle, label, size=9, anchor="middle", transform=f"rotate(-90 16 {middle:.1f})")
    )
    return parts


def _x_axis(frame: _Frame, ticks: Sequence[tuple[float, str]], label: str) -> list[str]:
    parts = [_line(frame.left, frame.bottom, frame.right, frame.bottom, INK)]
    for value, text in ticks:
        x = frame.x(value)
        parts.append(_line(x, frame.bottom, x, frame.bottom + 4, INK))
        parts.append(_text(x, frame.bottom + 14, text, size=8, anchor="middle", fill=MUTED))
    middle = (frame.left + frame.right) / 2
    parts.append(_text(middle, HEIGHT - 8, label, size=9, anchor="middle"))
    return parts


def _numeric_x_ticks(ticks: Sequence[float]) -> list[tuple[float, str]]:
    return [(t, _fmt(t)) for t in ticks]


# --- generic charts ----------------------------------------------------------------------


def grouped_bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    y_label: str,
    y_max: float | None = None,
) -> str:
    """Bars grouped by category, one bar per (label, colour, values) series; a missing
    value leaves a gap. Each bar is labelled with its value."""
    values = [v for _, _, vals in series for v in _present(vals)]
    if not categories or not values:
        return no_data_svg(chart_id, title)
    ticks = nice_ticks(min(0.0, *values), max(y_max or 0.0, *values) or 1.0)
    frame = _frame(x_min=0, x_max=len(categories), y_min=ticks[0], y_max=ticks[-1])
    body = _legend([(label, colour) for label, colour, _ in series])
    body += _y_axis(frame, ticks, y_label)
    body += _x_axis(frame, [(i + 0.5, str(c)) for i, c in enumerate(categories)], "")
    band = frame.x(1) - frame.x(0)
    width = band * 0.8 / len(series)
    for i in range(len(categories)):
        for j, (label, colour, vals) in enumerate(series):
            value = vals[i] if i < len(vals) else None
            if value is not None:
                x = frame.x(i) + band * 0.1 + j * width
                body += _bar(frame, x, width, value, colour, f"{categories[i]} {label}")
    return _svg(chart_id, title, body)


def _bar(frame: _Frame, x: float, width: float, value: float, colour: str, name: str) -> list[str]:
    top, base = frame.y(max(value, 0.0)), frame.y(min(value, 0.0))
    return [
        f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" width="{width * 0.92:.1f}" '
        f'height="{base - top:.1f}" fill="{colour}"><title>{escape(name)}: '
        f"{escape(_fmt(value))}</title></rect>",
        _text(x + width * 0.46, top - 3, _fmt(value), size=7.5, anchor="middle", fill=MUTED),
    ]


def strip_chart(
    *,
    chart_id: str,
    title: str,
    groups: Sequence[tuple[str, str, Sequence[float | None]]],
    x_label: str,
) -> str:
    """One horizontal strip of dots per (label, colour, values) group, with its median.
    Dots are spread vertically by a fixed low-discrepancy sequence so the chart is the
    same on every render."""
    values = [v for _, _, vals in groups for v in _present(vals)]
    if not groups or not values:
        return no_data_svg(chart_id, title)
    ticks = nice_ticks(min(0.0, *values), max(values) or 1.0)
    frame = _frame(x_min=ticks[0], x_max=ticks[-1], y_min=0, y_max=len(groups))
    frame = dataclasses.replace(frame, left=104)  # room for the strip labels
    body = _legend([(label, colour) for label, colour, _ in groups])
    body += _x_axis(frame, _numeric_x_ticks(ticks), x_label)
    band = (frame.bottom - frame.top) / len(groups)
    for row, (label, colour, vals) in enumerate(groups):
        middle = frame.top + band * (row + 0.5)
        body.append(_text(frame.left - 8, middle + 3, label, size=8.5, anchor="end"))
        body += _strip(frame, _present(vals), middle, band, colour)
    return _svg(chart_id, title, body)


def _strip(
    frame: _Frame, values: list[float], middle: float, band: float, colour: str
) -> list[str]:
    parts = [_line(frame.left, middle, frame.right, middle, GRID, stroke_width="0.6")]
    for i, value in enumerate(values):
        jitter = ((i * 0.6180339887) % 1.0 - 0.5) * band * 0.55
        parts.append(
            f'<circle class="point" cx="{frame.x(value):.1f}" cy="{middle + jitter:.1f}" r="3" '
            f'fill="{colour}" fill-opacity="0.6" stroke="{colour}" stroke-width="0.6"/>'
        )
    if values:
        x = frame.x(_median(values))
        parts.append(
            _line(
                x,
                middle - band * 0.4,
                x,
                middle + band * 0.4,
                INK,
                stroke_width="1.6",
                **{"class": "median"},
            )
        )
    return parts


def _median(values: list[float]) -> float:
    ordered, half = sorted(values), len(values) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def line_chart(
    *,
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, str, Sequence[float | None], Sequence[float | None]]],
    x_label: str,
    y_label: str,
    unit_square: bool = False,
) -> str:
    """One polyline per (label, colour, xs, ys) series, skipping points where either
    coordinate is missing. `unit_square` fixes both axes to [0, 1] and draws the chance
    diagonal, as a ROC chart needs."""
    drawn = [(label, colour, _points(xs, ys)) for label, colour, xs, ys in series]
    drawn = [(label, colour, points) for label, colour, points in drawn if points]
    if not drawn:
        return no_data_svg(chart_id, title)
    x_ticks, y_ticks = _line_ticks([p for _, _, pts in drawn for p in pts], unit_square)
    frame = _frame(x_min=x_ticks[0], x_max=x_ticks[-1], y_min=y_ticks[0], y_max=y_ticks[-1])
    legend = [(label, colour) for label, colour, _ in drawn]
    body = _legend([*legend, ("chance", MUTED)] if unit_square else legend, dashed=["chance"])
    body += _y_axis(frame, y_ticks, y_label) + _x_axis(frame, _numeric_x_ticks(x_ticks), x_label)
    if unit_square:
        body.append(
            _line(
                frame.x(0),
                frame.y(0),
                frame.x(1),
                frame.y(1),
                MUTED,
                stroke_dasharray="4 3",
                **{"class": "diagonal"},
            )
        )
    for label, colour, points in drawn:
        body += _polyline(frame, points, colour, label)
    return _svg(chart_id, title, body)


def _points(xs: Sequence[float | None], ys: Sequence[float | None]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in zip(xs, ys, strict=False) if x is not None and y is not None]


def _line_ticks(
    points: list[tuple[float, float]], unit_square: bool
) -> tuple[list[float], list[float]]:
    if unit_square:
        return nice_ticks(0, 1), nice_ticks(0, 1)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return nice_ticks(min(xs), max(xs)), nice_ticks(min(0.0, *ys), max(ys))


def _polyline(
    frame: _Frame, points: list[tuple[float, float]], colour: str, label: str
) -> list[str]:
    coords = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in points)
    parts = [
        f'<polyline class="series" points="{coords}" fill="none" stroke="{colour}" '
        f'stroke-width="1.8" stroke-linejoin="round"><title>{escape(label)}</title></polyline>'
    ]
    if len(points) == 1:  # a lone point draws no line; mark it so the series is visible
        x, y = points[0]
        parts.append(
            f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2.5" fill="{colour}"/>'
        )
    return parts


# --- the report's charts -----------------------------------------------------------------


def _section(chart: Any) -> dict[str, Any]:
    return chart if isinstance(chart, dict) else {}


def extraction_by_probe_svg(chart: Any) -> str:
    """Grouped bars: how often each probe extracted forget-set data, before and after."""
    data = _section(chart)
    probes = data.get("probes")
    labels = [PROBE_LABELS.get(str(p), str(p)) for p in probes] if isinstance(probes, list) else []
    return grouped_bar_chart(
        chart_id="chart-extraction",
        title=TITLES["extraction_by_probe"],
        categories=labels,
        series=[
            ("before", BEFORE, _numbers(data.get("before"))),
            ("after", AFTER, _numbers(data.get("after"))),
        ],
        y_label="extraction rate",
        y_max=1.0,
    )


def exposure_svg(chart: Any) -> str:
    """Strips of exposure (bits) for forget items before and after, against held-out
    items that were never trained on: success means "after" looks like the holdout."""
    data = _section(chart)
    return strip_chart(
        chart_id="chart-exposure",
        title=TITLES["exposure"],
        groups=[
            ("forget, before", BEFORE, _numbers(data.get("forget_before"))),
            ("forget, after", AFTER, _numbers(data.get("forget_after"))),
            ("holdout", HOLDOUT, _numbers(data.get("holdout"))),
        ],
        x_label="exposure (bits)",
    )


def _roc_series(data: dict[str, Any]) -> list[tuple[str, str, list, list]]:
    known = [name for name in SCORE_LABELS if name in data]
    names = known + sorted(str(n) for n in data if n not in SCORE_LABELS)
    series = []
    for index, name in enumerate(names):
        curve = _section(data.get(name))
        label = SCORE_LABELS.get(name, name)
        auc = _number(curve.get("auc"))
        label = f"{label} (AUC {auc:.2f})" if auc is not None else label
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        series.append((label, colour, _numbers(curve.get("fpr")), _numbers(curve.get("tpr"))))
    return series


def roc_svg(chart: Any) -> str:
    """ROC of each membership-inference score after unlearning; near the diagonal means
    an attacker cannot tell forget items from ones never seen."""
    return line_chart(
        chart_id="chart-roc",
        title=TITLES["roc"],
        series=_roc_series(_section(chart)),
        x_label="false positive rate",
        y_label="true positive rate",
        unit_square=True,
    )


def utility_svg(chart: Any) -> str:
    """A before/after pair of bars for the model's utility metric."""
    data = _section(chart)
    named = data.get("metric")
    metric = named if isinstance(named, str) else "utility"
    return grouped_bar_chart(
        chart_id="chart-utility",
        title=TITLES["utility"],
        categories=[metric],
        series=[
            ("before", BEFORE, [_number(data.get("before"))]),
            ("after", AFTER, [_number(data.get("after"))]),
        ],
        y_label=metric,
    )


def training_svg(chart: Any) -> str:
    """Forget and retain loss over the unlearning steps."""
    data = _section(chart)
    steps = _numbers(data.get("step"))
    return line_chart(
        chart_id="chart-training",
        title=TITLES["training"],
        series=[
            ("forget loss", BEFORE, steps, _numbers(data.get("forget_loss"))),
            ("retain loss", AFTER, steps, _numbers(data.get("retain_loss"))),
        ],
        x_label="step",
        y_label="loss",
    )


CHARTS = (
    (
        "extraction_by_probe",
        extraction_by_probe_svg,
        "Share of probes that recovered forget-set data, per probe kind.",
    ),
    (
        "exposure",
        exposure_svg,
        "Each dot is one item; the bar is the median. After unlearning, forget items should "
        "sit with the held-out items.",
    ),
    ("roc", roc_svg, "A curve on the diagonal means the attack does no better than chance."),
    ("utility", utility_svg, "The model's utility metric before and after unlearning."),
    ("training", training_svg, "Losses recorded during unlearning."),
)


def report_charts(charts: Any) -> list[Chart]:
    """The report's five charts from the bundle's "charts" section, in report order;
    unknown extra keys are ignored."""
    data = _section(charts)
    return [
        Chart(key=key, title=TITLES[key], caption=caption, svg=build(data.get(key)))
        for key, build, caption in CHARTS
    ]
