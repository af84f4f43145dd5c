"""Render a :class:`QualityReport` as one self-contained HTML page (plotly inlined; opens offline).

This module computes no metric: it lays out what the report (and its ``plots``) already holds. Every
string that may come from the data is escaped: ``html.escape`` in markup, and the JSON handed to plotly
has ``<``, ``>`` and ``&`` written as ``\\u003c``-style escapes so that no ``</script>`` or ``<!--`` can
end the script block early. Labels inside the JSON are HTML-escaped as well, because plotly interprets
a few tags in text.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from synth_pipeline.io import write_text
from synth_pipeline.quality.gates import GateResult, Gates, check_gates
from synth_pipeline.quality.report import BivariatePlot, DistanceHistogram, QualityReport

_COLORS = {"training": "#4c72b0", "synthetic": "#24a36b", "holdout": "#999999"}
_SCALES = {"training": [[0, "#f7fbff"], [1, "#08306b"]], "synthetic": [[0, "#f7fcf5"], [1, "#00441b"]]}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1320px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px} table{border-collapse:collapse;font-size:14px;margin:8px 0;background:#fff}
th,td{border:1px solid #ddd;padding:4px 10px;text-align:left} th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#137333;font-weight:600} .fail{color:#c5221f;font-weight:600} .warn{color:#b06000;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.kpi{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:10px 16px;min-width:170px}
.kpi .v{font-size:24px;font-weight:600} .kpi .l{font-size:12px;color:#666}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _json(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _row(cells: list[str], numeric_from: int = 1, numeric_to: int | None = None) -> str:
    last = len(cells) if numeric_to is None else numeric_to
    return "<tr>" + "".join(
        f'<td class="num">{c}</td>' if numeric_from <= k < last else f"<td>{c}</td>" for k, c in enumerate(cells)
    ) + "</tr>"


def _label(text: str, limit: int = 22) -> str:
    """Shorten (before escaping, so no entity is cut) and escape a label for plotly."""
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _srow(cells: list[str]) -> str:
    return _row(cells, 1, 3)


def _table(header: list[str], rows: list[str]) -> str:
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>" + "".join(rows) + "</table>"


def _gates(results: list[GateResult]) -> str:
    if not results:
        return "<p>No gates configured.</p>"
    rows = []
    for r in results:
        css = {"ok": "pass", "error": "fail", "warn": "warn"}[r.severity]
        verdict = {"ok": "PASS", "error": "FAIL (blocking)", "warn": "WARN"}[r.severity]
        rows.append(
            f"<tr><td>{_e(r.name)}</td><td class='num'>{_fmt(r.value, 4)}</td>"
            f"<td class='num'>{_fmt(r.threshold, 4)}</td>"
            f"<td>{'blocking' if r.blocking else 'warning'}</td><td class='{css}'>{verdict}</td>"
            f"<td>{_e(r.message)}</td></tr>"
        )
    return _table(["gate", "value", "threshold", "kind", "verdict", "detail"], rows)


def _summary(report: QualityReport) -> str:
    rows = []
    a, s, d, u = report.accuracy, report.similarity, report.distances, report.utility
    if a is not None:
        for name in ("overall", "univariate", "bivariate", "trivariate"):
            value, ceiling = getattr(a, name), getattr(a, f"{name}_max")
            rows.append(_srow([f"accuracy {name}", _pct(value), _pct(ceiling), "holdout vs training (ceiling)"]))
    if s is not None:
        rows.append(_srow(["discriminator AUC (ideal 0.5)", _fmt(s.discriminator_auc_training_synthetic),
                          _fmt(s.discriminator_auc_training_holdout), "holdout vs training"]))
        rows.append(_srow(["correlation difference", _fmt(s.correlation_difference),
                          _fmt(s.correlation_difference_holdout), "holdout vs training"]))
    if d is not None:
        rows.append(_srow(["DCR share, worst subset (ideal 50%)", _pct(d.dcr_share), "50.0%", "ideal"]))
        rows.append(_srow(["DCR share, all columns", _pct(d.dcr_share_all_columns), "50.0%", "ideal"]))
        rows.append(_srow(["mean DCR to training", _fmt(d.dcr_training), _fmt(d.dcr_holdout_training),
                          "holdout to training"]))
        rows.append(_srow(["mean DCR to holdout", _fmt(d.dcr_holdout), _fmt(d.dcr_holdout_training),
                          "holdout to training"]))
        rows.append(_srow(["identical to a training row", _pct(d.ims_training), _pct(d.ims_holdout_training),
                          "holdout rows identical to a training row"]))
        rows.append(_srow(["NNDR 5th percentile (training)", _fmt(d.nndr_training_p5),
                          _fmt(d.nndr_holdout_training_p5), "holdout among training"]))
    if u is not None:
        if u.task == "classification":
            rows.append(_srow([f"AUC predicting {_e(u.target)} (TSTR)", _fmt(u.tstr_auc), _fmt(u.trtr_auc), "TRTR"]))
            rows.append(_srow([f"accuracy predicting {_e(u.target)} (TSTR)", _pct(u.tstr_accuracy),
                              _pct(u.trtr_accuracy), "TRTR"]))
        else:
            rows.append(_srow([f"R² predicting {_e(u.target)} (TSTR)", _fmt(u.tstr_r2), _fmt(u.trtr_r2), "TRTR"]))
            rows.append(_srow([f"RMSE predicting {_e(u.target)} (TSTR)", _fmt(u.tstr_rmse), _fmt(u.trtr_rmse),
                              "TRTR"]))
    if report.diversity is not None:
        rows.append(_srow(["distinct rows, synthetic", _pct(report.diversity.distinct_rows_synthetic),
                          _pct(report.diversity.distinct_rows_holdout), "holdout"]))
    return _table(["metric", "synthetic", "reference", "reference is"], rows) if rows else ""


def _kpis(report: QualityReport) -> str:
    cards = []
    if report.accuracy is not None:
        a = report.accuracy
        cards.append(("overall accuracy", _pct(a.overall), f"ceiling {_pct(a.overall_max)}"))
    if report.distances is not None:
        cards.append(("DCR share", _pct(report.distances.dcr_share), "ideal 50%"))
        cards.append(("identical to training", _pct(report.distances.ims_training),
                      f"holdout: {_pct(report.distances.ims_holdout_training)}"))
    if report.similarity is not None and report.similarity.discriminator_auc_training_synthetic is not None:
        cards.append(("discriminator AUC", _fmt(report.similarity.discriminator_auc_training_synthetic), "ideal 0.5"))
    return '<div class="cards">' + "".join(
        f'<div class="kpi"><div class="l">{_e(label)}</div><div class="v">{value}</div>'
        f'<div class="l">{_e(note)}</div></div>'
        for label, value, note in cards
    ) + "</div>"


class _Figures:
    """The plotly figures of one page: each added figure gets a div id and a card to place it in."""

    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []

    def add(self, data: list[dict[str, Any]], layout: dict[str, Any], height: int) -> str:
        div = f"fig{len(self.specs)}"
        base = {"height": height, "margin": {"l": 50, "r": 10, "t": 40, "b": 80}, "paper_bgcolor": "white",
                "plot_bgcolor": "white", "font": {"size": 11}}
        self.specs.append({"id": div, "data": data, "layout": {**base, **layout}})
        return f'<div class="card"><div id="{div}"></div></div>'


def _univariate_figures(report: QualityReport, figures: _Figures) -> str:
    accuracy_of = {c.name: c for c in report.columns}
    cards = []
    for plot in report.plots.univariate:
        labels = [_label(label) for label in plot.labels]
        info = accuracy_of.get(plot.column)
        title = html.escape(plot.column)
        if info is not None and info.accuracy is not None:
            title += f" — accuracy {_pct(info.accuracy)} (ceiling {_pct(info.accuracy_max)})"
        data = [
            {"type": "bar", "name": name, "x": labels, "y": getattr(plot, name), "marker": {"color": _COLORS[name]}}
            for name in ("training", "synthetic", "holdout")
        ]
        cards.append(figures.add(data, {"title": {"text": title, "font": {"size": 13}}, "barmode": "group",
                                        "xaxis": {"type": "category"}, "yaxis": {"tickformat": ".0%"},
                                        "legend": {"orientation": "h", "y": 1.12}}, 300))
    return "".join(cards)


def _bivariate_figures(plots: list[BivariatePlot], figures: _Figures) -> str:
    cards = []
    for plot in plots:
        rows = [_label(label) for label in plot.row_labels]
        cols = [_label(label) for label in plot.column_labels]
        first, second = (html.escape(c) for c in plot.columns)
        top = max([max(r) for r in plot.training + plot.synthetic if r] or [1.0])
        for name in ("training", "synthetic"):
            data = [{"type": "heatmap", "z": getattr(plot, name), "x": cols, "y": rows, "zmin": 0, "zmax": top,
                     "colorscale": _SCALES[name], "showscale": False}]
            title = f"{first} × {second}: {name}"
            if name == "synthetic":
                title += f" (accuracy {_pct(plot.accuracy)}, ceiling {_pct(plot.accuracy_max)})"
            cards.append(figures.add(data, {"title": {"text": title, "font": {"size": 13}},
                                            "margin": {"l": 130, "r": 10, "t": 40, "b": 90},
                                            "xaxis": {"type": "category", "title": {"text": second},
                                                      "automargin": True},
                                            "yaxis": {"type": "category", "title": {"text": first},
                                                      "automargin": True}}, 380))
    return "".join(cards)


def _distance_figure(histogram: DistanceHistogram | None, figures: _Figures) -> str:
    if histogram is None:
        return ""
    centers = [(lo + hi) / 2 for lo, hi in zip(histogram.edges[:-1], histogram.edges[1:], strict=True)]
    data = [
        {"type": "scatter", "mode": "lines", "name": label, "x": centers, "y": getattr(histogram, key),
         "line": {"color": color, "width": 2, "shape": "hvh"}}
        for key, label, color in (
            ("synthetic_training", "synthetic → training", _COLORS["synthetic"]),
            ("synthetic_holdout", "synthetic → holdout", _COLORS["training"]),
            ("holdout_training", "holdout → training (reference)", _COLORS["holdout"]),
        )
    ]
    layout = {
        "title": {"text": "Distance to closest record"},
        "xaxis": {"title": {"text": "distance"}},
        "yaxis": {"title": {"text": "share of rows"}, "tickformat": ".0%"},
        "legend": {"orientation": "h", "y": 1.12},
    }
    return figures.add(data, layout, 360)


def _columns_table(report: QualityReport) -> str:
    s = report.similarity
    rows = []
    for c in report.columns:
        statistic = ""
        if s is not None and c.name in s.ks_statistic:
            statistic = f"KS {_fmt(s.ks_statistic[c.name])} (holdout {_fmt(s.ks_statistic_holdout.get(c.name))})"
        elif s is not None and c.name in s.chi2_statistic:
            statistic = f"χ² {s.chi2_statistic[c.name]:.1f} (holdout {s.chi2_statistic_holdout.get(c.name, 0.0):.1f})"
        rows.append(_row([_e(c.name), _e(c.kind), _pct(c.accuracy), _pct(c.accuracy_max), _e(statistic),
                          _pct(c.missing_training), _pct(c.missing_synthetic)], numeric_from=2))
    return _table(["column", "kind", "accuracy", "ceiling", "two-sample statistic", "missing (training)",
                   "missing (synthetic)"], rows)


def _subsets_table(report: QualityReport) -> str:
    if report.distances is None:
        return ""
    rows = [_row([_e(s.group), _e(", ".join(s.columns)), _pct(s.dcr_share)], numeric_from=2)
            for s in report.distances.dcr_share_subsets]
    return _table(["subset", "columns", "DCR share"], rows)


def _rules_table(report: QualityReport) -> str:
    if report.rule_adherence is None:
        return ""
    entries = report.rule_adherence.synthetic
    keys: list[str] = []
    for entry in entries:
        keys.extend(k for k in entry if k not in keys)
    rows = ["<tr>" + "".join(f"<td>{_e(entry.get(k, ''))}</td>" for k in keys) + "</tr>" for entry in entries]
    return "<h2>Rule adherence (synthetic)</h2>" + _table(keys, rows)


def render_html(
    report: QualityReport, path: str | Path, *, gates: Gates | None = None, title: str = "Synthetic data quality"
) -> Path:
    """Write the self-contained HTML page of ``report`` (plotly inlined, opens offline) to ``path``.

    The gates (default: ``Gates()``) are checked here and shown at the top of the page.

    >>> render_html(evaluate(training, holdout, synthetic), "quality.html")  # doctest: +SKIP
    """
    return write_text(path, _page(report, check_gates(report, gates), title=title))


def _page(report: QualityReport, gate_results: list[GateResult], *, title: str) -> str:
    """The whole page as one string."""
    from plotly.offline import get_plotlyjs

    m = report.metadata
    figures = _Figures()
    uni = _univariate_figures(report, figures)
    bi = _bivariate_figures(report.plots.bivariate, figures)
    dist = _distance_figure(report.plots.distances, figures)
    meta = (
        f"{m.rows_training:,} training, {m.rows_holdout:,} holdout, {m.rows_synthetic:,} synthetic rows; "
        f"{len(m.columns)} columns evaluated"
        + (f", id columns left out: {', '.join(m.excluded_columns)}" if m.excluded_columns else "")
        + (f"; target {m.target}" if m.target else "")
        + f"; computed in {m.seconds:.1f} s by synth_pipeline {m.version}"
    )
    body = [
        f"<h1>{_e(title)}</h1><div class='meta'>{_e(meta)}</div>",
        _kpis(report),
        "<h2>Gates</h2>", _gates(gate_results),
        "<h2>Summary</h2>", _summary(report),
    ]
    if uni:
        body += [
            "<h2>Univariate distributions</h2>",
            "<p class='meta'>Binned relative frequencies: training, synthetic, holdout.</p>",
            f'<div class="grid">{uni}</div>',
        ]
    if bi:
        body += [
            "<h2>Weakest pairs</h2>",
            "<p class='meta'>Joint binned frequencies of the pairs furthest below their ceiling.</p>",
            f'<div class="grid">{bi}</div>',
        ]
    if dist:
        body += ["<h2>Distances (privacy)</h2>", dist, _subsets_table(report)]
    body += ["<h2>Columns</h2>", _columns_table(report), _rules_table(report)]
    script = (
        f"var figures={_json(figures.specs)};"
        "figures.forEach(function(f){Plotly.newPlot(f.id,f.data,f.layout,{displayModeBar:false,responsive:true});});"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><main>{''.join(body)}</main><script>{script}</script></body></html>"
    )
