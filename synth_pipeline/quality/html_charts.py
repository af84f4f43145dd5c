"""Small inline SVG charts for the HTML report: grouped bars, heatmaps with a colour legend, step lines.

Plain strings, no JavaScript and no library: a report stays a few hundred kilobytes and opens offline.
Every label is escaped with :func:`esc` (text and attributes alike); each mark carries a ``<title>``
tooltip with its exact value. Labels are never shortened below :data:`LABEL_LIMIT` characters (bin labels
of datetimes are shorter than that); longer ones end in an ellipsis and keep the full text in the tooltip.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

LABEL_LIMIT = 48
CHAR_WIDTH = 6.4  # px per character at font-size 11 (system sans-serif, a little generous)
COLORS = {"training": "#4c72b0", "synthetic": "#24a36b", "holdout": "#a0a0a0"}
SEQUENTIAL = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")  # one scale for training and synthetic
DIVERGING = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")  # synthetic below / above training


def esc(value: Any) -> str:
    """HTML-escape ``value`` for text and (quoted) attributes."""
    return html.escape(str(value), quote=True)


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, or an en dash when absent."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 3) -> str:
    """A number with fixed decimals, or an en dash when absent."""
    return "–" if value is None else f"{value:.{digits}f}"


def short(label: str, limit: int = LABEL_LIMIT) -> str:
    """``label`` cut to ``limit`` characters (before escaping, so no entity is cut)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def text_width(labels: Sequence[str], font: float = 11.0) -> float:
    """Pixels the longest (shortened) label needs."""
    longest = max((len(short(label)) for label in labels), default=0)
    return longest * CHAR_WIDTH * font / 11.0


def color_at(stops: Sequence[str], t: float) -> str:
    """The colour at ``t`` in [0, 1] on a piecewise-linear scale through ``stops``."""
    t = 0.0 if not math.isfinite(t) else min(max(t, 0.0), 1.0)
    position = t * (len(stops) - 1)
    k = min(int(position), len(stops) - 2)
    frac = position - k
    lo, hi = stops[k], stops[k + 1]
    rgb = [round(int(lo[i : i + 2], 16) * (1 - frac) + int(hi[i : i + 2], 16) * frac) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def svg(width: float, height: float, body: str, label: str) -> str:
    """An ``<svg>`` element of the given size (it shrinks with the page, keeping its proportions)."""
    w, h = math.ceil(width), math.ceil(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'role="img" aria-label="{esc(label)}" font-size="11">{body}</svg>'
    )


def _text(x: float, y: float, label: str, *, anchor: str = "start", extra: str = "") -> str:
    full, shown = str(label), short(str(label))
    tip = f"<title>{esc(full)}</title>" if shown != full else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{tip}{esc(shown)}</text>'


def _tick_label(value: float, ticks: Sequence[float]) -> str:
    """A share tick as a percentage with as many decimals as the tick step needs."""
    step = 100 * (ticks[1] - ticks[0]) if len(ticks) > 1 else 100.0
    return pct(value, 0 if float(step).is_integer() else 1)


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * k for k in range(math.ceil(top / step - 1e-9) + 1)]


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str) -> str:
    """Horizontal grouped bars of shares: one group per label, one bar per ``(name, values)`` series.

    Colours come from :data:`COLORS` by series name; the longest label sets the left margin.
    """
    bar, gap, plot_width = 5.5, 7.0, 240.0
    left = text_width(labels) + 12
    group = bar * len(series) + gap
    ticks = _ticks(max((v for _, values in series for v in values), default=0.0))
    scale = plot_width / ticks[-1]
    top, height = 8.0, 8.0 + group * len(labels) + 22
    parts = []
    for t in ticks:
        x = left + t * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 20:.1f}" stroke="#e6e6e6"/>')
        parts.append(_text(x, height - 6, _tick_label(t, ticks), anchor="middle", extra=' fill="#666"'))
    for k, label in enumerate(labels):
        y0 = top + k * group
        parts.append(_text(left - 6, y0 + group / 2 + 1, label, anchor="end"))
        for s, (name, values) in enumerate(series):
            value = values[k]
            parts.append(
                f'<rect x="{left:.1f}" y="{y0 + s * bar:.1f}" width="{max(value * scale, 0.0):.1f}" '
                f'height="{bar - 0.6:.1f}" fill="{COLORS.get(name, "#777")}">'
                f"<title>{esc(short(label))}: {esc(name)} {pct(value)}</title></rect>"
            )
    return svg(left + plot_width + 24, height, "".join(parts), title)


def legend(names: Sequence[str]) -> str:
    """A one-line colour key of series names (HTML)."""
    return '<div class="key">' + "".join(
        f'<span><i style="background:{COLORS.get(name, "#777")}"></i>{esc(name)}</span>' for name in names
    ) + "</div>"


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    color: Callable[[float], str],
    tip: Callable[[int, int, float], str],
    title: str,
    cell: float = 20.0,
) -> str:
    """A matrix of coloured cells; row labels left, column labels below (turned 60°, never overlapping).

    ``color(value)`` gives a cell's fill and ``tip(i, j, value)`` its tooltip text; ``None`` cells stay blank.
    """
    # column labels turn 60°: they reach half their length to the left and 0.87 of it downwards
    left = math.ceil(max(text_width(row_labels) + 10, text_width(column_labels[:1]) * 0.5 - cell / 2 + 8))
    bottom = text_width(column_labels) * 0.87 + 14
    width, height = left + cell * len(column_labels) + 8, 4 + cell * len(row_labels) + bottom
    parts = []
    for i, label in enumerate(row_labels):
        parts.append(_text(left - 5, 4 + (i + 0.5) * cell + 4, label, anchor="end"))
        for j, value in enumerate(values[i]):
            if value is None:
                continue
            parts.append(  # integer coordinates (left and cell are whole pixels) keep big matrices small
                f'<rect x="{left + j * cell:g}" y="{4 + i * cell:g}" width="{cell - 1:g}" height="{cell - 1:g}" '
                f'fill="{color(value)}"><title>{esc(tip(i, j, value))}</title></rect>'
            )
    base = 4 + cell * len(row_labels) + 8
    for j, label in enumerate(column_labels):
        x = left + (j + 0.5) * cell + 3
        parts.append(_text(x, base, label, anchor="end", extra=f' transform="rotate(-60 {x:.1f} {base:.1f})"'))
    return svg(width, height, "".join(parts), title)


def scale_legend(stops: Sequence[str], low: float, high: float, label: Callable[[float], str], title: str) -> str:
    """A horizontal colour bar from ``low`` to ``high`` with three labelled ticks."""
    steps, width, left = 24, 180.0, 30.0
    parts = [
        f'<rect x="{left + k * width / steps:.1f}" y="4" width="{width / steps + 0.5:.1f}" height="10" '
        f'fill="{color_at(stops, (k + 0.5) / steps)}"/>'
        for k in range(steps)
    ]
    for t in (0.0, 0.5, 1.0):
        parts.append(_text(left + t * width, 27, label(low + t * (high - low)), anchor="middle",
                           extra=' fill="#444"'))
    parts.append(_text(left + width + 36, 13, title))
    return svg(left + width + 44 + len(title) * CHAR_WIDTH, 32, "".join(parts), title)


def step_chart(edges: Sequence[float], series: Sequence[tuple[str, str, Sequence[float]]], title: str) -> str:
    """Shares per bin of shared ``edges`` as step lines: ``(label, colour, values)`` per series."""
    width, height, left, bottom = 560.0, 240.0, 46.0, 34.0
    plot_w, plot_h = width - left - 12, height - bottom - 8
    lo, hi = edges[0], edges[-1] if edges[-1] > edges[0] else edges[0] + 1
    y_ticks = _ticks(max((v for _, _, values in series for v in values), default=0.0))

    def x_of(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    def y_of(v: float) -> float:
        return 8 + plot_h * (1 - v / y_ticks[-1])

    parts = []
    for t in y_ticks:
        parts.append(f'<line x1="{left}" y1="{y_of(t):.1f}" x2="{width - 12}" y2="{y_of(t):.1f}" stroke="#e6e6e6"/>')
        parts.append(_text(left - 4, y_of(t) + 4, _tick_label(t, y_ticks), anchor="end", extra=' fill="#666"'))
    for t in _ticks(hi - lo, 5):
        if lo + t <= hi:
            parts.append(_text(x_of(lo + t), height - bottom + 16, f"{lo + t:.3g}", anchor="middle",
                               extra=' fill="#666"'))
    parts.append(_text(left + plot_w / 2, height - 4, "distance to the closest record", anchor="middle"))
    for name, colour, values in series:
        points = []
        for k, value in enumerate(values):
            points += [f"{x_of(edges[k]):.1f},{y_of(value):.1f}", f"{x_of(edges[k + 1]):.1f},{y_of(value):.1f}"]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}">'
                     f"<title>{esc(name)}</title></polyline>")
    return svg(width, height, "".join(parts), title)
