"""The HTML report's detail sections: columns, distributions, pairs, correlations, privacy, rules, glossary.

Layout only: every number comes from the :class:`QualityReport`; bins and their labels are the report's.
Element ids are positional (``u3``: the fourth univariate chart, ``p0``: the weakest pair) so that no
column name ever becomes part of an id or a link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from synth_pipeline.quality.html_charts import (
    COLORS,
    DIVERGING,
    SEQUENTIAL,
    bar_chart,
    color_at,
    esc,
    heatmap,
    legend,
    num,
    pct,
    scale_legend,
    step_chart,
)
from synth_pipeline.quality.html_glossary import GLOSSARY
from synth_pipeline.quality.html_sections import row, table
from synth_pipeline.quality.report import BivariatePlot, CorrelationMatrices, QualityReport

_TABLES = ("training", "synthetic", "holdout")


def _card(body: str, css: str = "card", anchor: str = "") -> str:
    ident = f' id="{anchor}"' if anchor else ""
    return f'<div class="{css}"{ident}>{body}</div>'


def columns_table(report: QualityReport) -> str:
    """Per column: kind, univariate and bivariate accuracy with ceilings, a two-sample statistic, missing shares."""
    s = report.similarity
    charted = {p.column: j for j, p in enumerate(report.plots.univariate)}
    rows = []
    for c in report.columns:
        statistic = ""
        if s is not None and c.name in s.ks_statistic:
            statistic = f"KS {num(s.ks_statistic[c.name])} (holdout {num(s.ks_statistic_holdout.get(c.name))})"
        elif s is not None and c.name in s.chi2_statistic:
            statistic = f"χ² {s.chi2_statistic[c.name]:.1f} (holdout {s.chi2_statistic_holdout.get(c.name, 0.0):.1f})"
        name = esc(c.name)
        if c.name in charted:
            name = f'<a href="#u{charted[c.name]}">{name}</a>'
        rows.append(row([
            name, esc(c.kind), pct(c.accuracy), pct(c.accuracy_max), _gap_bar(c.accuracy, c.accuracy_max),
            pct(c.bivariate_accuracy), pct(c.bivariate_accuracy_max), esc(statistic),
            pct(c.missing_training), pct(c.missing_synthetic),
        ], numeric=(2, 3, 5, 6, 8, 9)))
    return table(["column", "kind", "accuracy", "ceiling", "gap to ceiling", "bivariate accuracy", "ceiling",
                  "two-sample statistic", "missing (training)", "missing (synthetic)"], rows)


def _gap_bar(value: float | None, ceiling: float | None) -> str:
    """A small bar of the gap to the ceiling (10 points fill it), with the gap in points."""
    if value is None or ceiling is None:
        return ""
    gap = max(ceiling - value, 0.0)
    width = min(gap / 0.10, 1.0) * 60
    colour = "#c5221f" if gap >= 0.05 else "#e8a33d" if gap >= 0.02 else "#24a36b"
    return (f'<span class="gap"><i style="width:{width:.0f}px;background:{colour}"></i></span>'
            f"{100 * gap:.1f} pt")


def univariate_cards(report: QualityReport) -> str:
    """One bar chart per column: training, synthetic and holdout shares per bin."""
    accuracy_of = {c.name: c for c in report.columns}
    cards = []
    for j, plot in enumerate(report.plots.univariate):
        info = accuracy_of.get(plot.column)
        caption = ""
        if info is not None and info.accuracy is not None:
            caption = f"accuracy {pct(info.accuracy)} (ceiling {pct(info.accuracy_max)})"
        series = [(name, getattr(plot, name)) for name in _TABLES]
        chart = bar_chart(plot.labels, series, f"{plot.column}: binned shares")
        cards.append(_card(f"<h3>{esc(plot.column)}</h3><p class='meta'>{caption}</p>{chart}", anchor=f"u{j}"))
    return legend(list(_TABLES)) + f'<div class="grid">{"".join(cards)}</div>' if cards else ""


def _lower(matrix: Sequence[Sequence[float | None]]) -> list[list[float | None]]:
    """The cells below the diagonal of a square matrix, without the empty first row and last column."""
    return [[v if j < i + 1 else None for j, v in enumerate(r[:-1])] for i, r in enumerate(matrix[1:])]


def pair_matrix(report: QualityReport) -> str:
    """The all-pairs bivariate accuracy matrix (lower triangle), on a scale from the weakest pair to 100%."""
    if report.accuracy is None or not report.accuracy.pairs:
        return ""
    names = list(report.metadata.columns)
    index = {c: k for k, c in enumerate(names)}
    values: list[list[float | None]] = [[None] * len(names) for _ in names]
    ceilings: dict[tuple[int, int], float] = {}
    for p in report.accuracy.pairs:
        i, j = sorted((index[p.columns[0]], index[p.columns[1]]))
        values[j][i] = p.accuracy
        ceilings[(j, i)] = p.accuracy_max
    low = min(p.accuracy for p in report.accuracy.pairs)
    low = min(low, 0.95) - 0.01

    def color(v: float) -> str:
        return color_at(SEQUENTIAL, (v - low) / (1.0 - low))

    def tip(i: int, j: int, v: float) -> str:
        return f"{names[i]} × {names[j]}: accuracy {pct(v)} (ceiling {pct(ceilings[(i, j)])})"

    def tip_lower(i: int, j: int, v: float) -> str:
        return tip(i + 1, j, v)

    chart = heatmap(names[1:], names[:-1], _lower(values), color=color, tip=tip_lower, title="accuracy of every pair",
                    cell=22)
    key = scale_legend(SEQUENTIAL, low, 1.0, lambda v: pct(v, 0), "pair accuracy")
    return _card(chart + key, "card wide")


Layer = tuple[str, Sequence[Sequence[float]], Callable[[float], str]]


def _maps(
    rows: Sequence[str],
    columns: Sequence[str],
    layers: Sequence[Layer],
    describe: Callable[[str, int, int, float], str],
    cell: float,
) -> str:
    """Heatmaps side by side, one per ``(name, values, colour)`` layer; ``describe`` writes each cell's tooltip."""
    figures = []
    for name, values, color in layers:
        chart = heatmap(rows, columns, values, color=color, title=name, cell=cell,
                        tip=lambda i, j, v, name=name: describe(name, i, j, v))
        figures.append(f"<figure><figcaption>{esc(name)}</figcaption>{chart}</figure>")
    return f"<div class='maps'>{''.join(figures)}</div>"


def _keys(*legends: str) -> str:
    return f"<div class='maps'>{''.join(legends)}</div>"


def _pair_card(k: int, plot: BivariatePlot) -> str:
    """Training and synthetic heatmaps of one pair on one colour scale, and their difference."""
    first, second = plot.columns
    top = max([v for r in plot.training + plot.synthetic for v in r] or [1.0]) or 1.0
    difference = [[s - t for t, s in zip(rt, rs, strict=True)]
                  for rt, rs in zip(plot.training, plot.synthetic, strict=True)]
    spread = max([abs(v) for r in difference for v in r] or [0.0]) or 0.01
    layers: list[Layer] = [
        ("training", plot.training, lambda v: color_at(SEQUENTIAL, v / top)),
        ("synthetic", plot.synthetic, lambda v: color_at(SEQUENTIAL, v / top)),
        ("synthetic − training", difference, lambda v: color_at(DIVERGING, 0.5 + v / (2 * spread))),
    ]

    def describe(name: str, i: int, j: int, v: float) -> str:
        return f"{first} {plot.row_labels[i]} × {second} {plot.column_labels[j]}: {name} {pct(v, 2)}"

    maps = _maps(plot.row_labels, plot.column_labels, layers, describe, cell=18)
    keys = _keys(scale_legend(SEQUENTIAL, 0.0, top, lambda v: pct(v, 1), "share of rows (both maps)"),
                 scale_legend(DIVERGING, -spread, spread, lambda v: pct(v, 1), "synthetic − training"))
    heading = (f"<h3>{esc(first)} (rows) × {esc(second)} (columns)</h3><p class='meta'>accuracy "
               f"{pct(plot.accuracy)}, ceiling {pct(plot.accuracy_max)}</p>")
    return _card(heading + maps + keys, "card wide", f"p{k}")


def pair_cards(plots: list[BivariatePlot]) -> str:
    """Per weakest pair: training and synthetic heatmaps on one colour scale, and their difference."""
    return "".join(_pair_card(k, plot) for k, plot in enumerate(plots))


def correlation_cards(correlations: CorrelationMatrices | None) -> str:
    """Cramér's V matrices of training and synthetic (one scale, 0 to 1) and their difference."""
    if correlations is None or len(correlations.columns) < 2:
        return ""
    names = correlations.columns
    spread = max(max([abs(v) for r in correlations.difference for v in r] or [0.0]), 0.05)
    layers: list[Layer] = [
        ("training", _lower(correlations.training), lambda v: color_at(SEQUENTIAL, v)),
        ("synthetic", _lower(correlations.synthetic), lambda v: color_at(SEQUENTIAL, v)),
        ("synthetic − training", _lower(correlations.difference),
         lambda v: color_at(DIVERGING, 0.5 + v / (2 * spread))),
    ]

    def describe(name: str, i: int, j: int, v: float) -> str:
        return f"{names[i + 1]} × {names[j]}: {name} {num(v, 3)}"

    maps = _maps(names[1:], names[:-1], layers, describe, cell=20)
    keys = _keys(scale_legend(SEQUENTIAL, 0.0, 1.0, lambda v: num(v, 1), "Cramér's V (both maps)"),
                 scale_legend(DIVERGING, -spread, spread, lambda v: f"{v:+.2f}", "synthetic − training"))
    return _card(maps + keys, "card wide")


def distance_section(report: QualityReport) -> str:
    """The distance histogram and the DCR share of every column subset checked."""
    parts = []
    h = report.plots.distances
    if h is not None:
        series = [
            ("synthetic → training", COLORS["synthetic"], h.synthetic_training),
            ("synthetic → holdout", COLORS["training"], h.synthetic_holdout),
            ("holdout → training (reference)", COLORS["holdout"], h.holdout_training),
        ]
        key = '<div class="key">' + "".join(
            f'<span><i style="background:{colour}"></i>{esc(name)}</span>' for name, colour, _ in series
        ) + "</div>"
        parts.append(_card(key + step_chart(h.edges, series, "distance to closest record"), "card wide"))
    if report.distances is not None:
        worst = max((s.dcr_share for s in report.distances.dcr_share_subsets), default=None)
        rows = [
            row([esc(s.group), esc(s.view), esc(", ".join(s.columns)),
                 f"<b>{pct(s.dcr_share)}</b>" if s.dcr_share == worst else pct(s.dcr_share)], numeric=(3,))
            for s in report.distances.dcr_share_subsets
        ]
        parts.append("<h3>DCR share per column subset (the worst counts)</h3>"
                     + table(["subset", "view", "columns", "DCR share"], rows))
    return "".join(parts)


def rules_table(report: QualityReport) -> str:
    """What each declared rule reports on synthetic, violations highlighted."""
    if report.rule_adherence is None or not report.rule_adherence.synthetic:
        return ""
    entries = report.rule_adherence.synthetic
    keys: list[str] = []
    for entry in entries:
        keys.extend(k for k in entry if k not in keys)
    rows = []
    for entry in entries:
        css = " class='bad'" if (entry.get("violations") or 0) > 0 else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{esc(entry.get(k, ''))}</td>" for k in keys) + "</tr>")
    return table(keys, rows)


def not_learned_table(report: QualityReport) -> str:
    """The source columns the generator does not model, with their kind and the reason."""
    rows = [row([esc(c.column), esc(c.kind), esc(c.reason)]) for c in report.columns_not_learned]
    return table(["column", "kind", "reason"], rows) if rows else ""


def glossary() -> str:
    """Every number of the report: what it means and what is good."""
    rows = [row([f"<b>{esc(term)}</b>", esc(meaning), esc(good)]) for term, meaning, good in GLOSSARY]
    return table(["number", "what it means", "what is good"], rows)
