"""Render a :class:`QualityReport` as one self-contained HTML page: inline SVG charts, no script, opens offline.

This module computes no metric: it lays out what the report (and its ``plots``) already holds. The first
screen answers "may this snapshot be published?": a PASS/FAIL banner from the gates (and blocking rules),
each failure with its value, its limit and a link to where to look, and the headline numbers. A sticky
navigation bar leads to the details; every section says what its numbers mean and what is good.

Every string that may come from the data is escaped with ``html.escape`` (text and attributes, also inside
the SVG), and the page has no ``<script>`` at all, so no data can run or end a block early. Charts are
drawn by :mod:`synth_pipeline.quality.html_charts` (a census report is a few hundred kilobytes).
"""

from __future__ import annotations

from pathlib import Path

from synth_pipeline.io import write_text
from synth_pipeline.quality.gates import GateResult, Gates, check_gates
from synth_pipeline.quality.html_attacks import attack_section
from synth_pipeline.quality.html_charts import esc
from synth_pipeline.quality.html_details import (
    columns_table,
    correlation_cards,
    distance_section,
    glossary,
    not_learned_table,
    pair_cards,
    pair_matrix,
    rules_table,
    univariate_cards,
)
from synth_pipeline.quality.html_glossary import SECTION_NOTES
from synth_pipeline.quality.html_sections import banner, gates_table, header, nav, summary_table
from synth_pipeline.quality.html_text import text_table
from synth_pipeline.quality.report import QualityReport

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1320px;margin:0 auto;padding:0 24px 48px}
header{padding:18px 0 4px} h1{font-size:24px;margin:0 0 6px}
h2{font-size:20px;margin:0 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:4px 6px 0} section{padding-top:22px;scroll-margin-top:48px}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;font-size:14px}
.facts span{color:#666;margin-right:6px} .meta{color:#666;font-size:13px;margin:4px 6px}
nav{position:sticky;top:0;z-index:2;background:#263238;display:flex;flex-wrap:wrap;gap:2px;padding:0 24px}
nav a{color:#fff;text-decoration:none;padding:9px 11px;font-size:14px} nav a:hover{background:#37474f}
.banner{border-radius:8px;padding:14px 20px;margin-top:14px;border:2px solid}
.banner.pass{background:#e6f4ea;border-color:#137333} .banner.fail{background:#fce8e6;border-color:#c5221f}
.banner.warn{background:#fef7e0;border-color:#b06000} .banner.none{background:#f1f3f4;border-color:#888}
.verdict{font-size:28px;font-weight:700} .pass .verdict{color:#137333} .fail .verdict{color:#c5221f}
.warn .verdict{color:#b06000} .banner li{margin:6px 0;font-size:15px}
.tag{font-size:12px;background:#fff;border:1px solid #bbb;border-radius:3px;padding:0 4px}
.explain{background:#eef3f8;border-left:4px solid #4c72b0;padding:6px 12px;font-size:13px;max-width:1000px}
table{border-collapse:collapse;font-size:13px;margin:8px 0;background:#fff}
th,td{border:1px solid #ddd;padding:4px 9px;text-align:left;vertical-align:top} th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} tr.bad td{background:#fce8e6}
.pass{color:#137333;font-weight:600} .fail{color:#c5221f;font-weight:600} .warn{color:#b06000;font-weight:600}
.banner.pass,.banner.fail,.banner.warn{color:#222;font-weight:400}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:6px;overflow-x:auto;scroll-margin-top:48px}
.card.wide{margin:10px 0} .card svg{max-width:100%;height:auto;display:block}
.maps{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start} figure{margin:4px}
figcaption{font-size:13px;font-weight:600;margin-bottom:2px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 2px}
.kpi{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:160px;color:#222;
text-decoration:none;display:flex;flex-direction:column} .kpi:hover{border-color:#4c72b0}
.kpi .v{font-size:22px;font-weight:600} .kpi .l{font-size:12px;color:#666}
.key{display:flex;gap:16px;font-size:13px;margin:6px 0} .key i{display:inline-block;width:12px;height:12px;
margin-right:5px;vertical-align:-1px}
.gap{display:inline-block;width:62px;height:9px;background:#f0f0f0;margin-right:6px}
.gap i{display:block;height:9px}
"""


def render_html(
    report: QualityReport, path: str | Path, *, gates: Gates | None = None, title: str = "Synthetic data quality"
) -> Path:
    """Write the self-contained HTML page of ``report`` (inline SVG, no script, opens offline) to ``path``.

    The gates (default: ``Gates()``) are checked here and decide the banner at the top of the page.

    >>> render_html(evaluate(training, holdout, synthetic), "quality.html")  # doctest: +SKIP
    """
    return write_text(path, page(report, check_gates(report, gates), title=title))


def _section(anchor: str, heading: str, body: str) -> str:
    note = SECTION_NOTES.get(anchor)
    explain = f"<p class='explain'>{esc(note)}</p>" if note else ""
    return f'<section id="{anchor}"><h2>{esc(heading)}</h2>{explain}{body}</section>'


def _sections(report: QualityReport, gate_results: list[GateResult]) -> list[tuple[str, str, str]]:
    """(anchor, navigation label, html) of every section that has something to show, in page order."""
    accuracy = (
        columns_table(report)
        + (f"<h3>Distributions per column</h3><p class='explain'>{esc(SECTION_NOTES['univariate'])}</p>"
           + univariate_cards(report) if report.plots.univariate else "")
    )
    pairs = pair_matrix(report)
    if report.plots.bivariate:
        pairs += (f"<h3>Weakest pairs</h3><p class='explain'>{esc(SECTION_NOTES['weakest'])}</p>"
                  + pair_cards(report.plots.bivariate))
    candidates = [
        ("gates", "Gates", "Gates", gates_table(gate_results)),
        ("summary", "Summary", "Summary", summary_table(report)),
        ("accuracy", "Accuracy", "Accuracy per column", accuracy if report.columns else ""),
        ("pairs", "Pairs", "Pairs of columns", pairs),
        ("correlations", "Correlations", "Correlations", correlation_cards(report.plots.correlations)),
        ("privacy", "Privacy", "Privacy: distances to the closest record", distance_section(report)),
        ("attacks", "Attacks", "Privacy: attacks on the synthetic table", attack_section(report)),
        ("text", "Free text", "Free-text columns", text_table(report)),
        ("rules", "Rules", "Rule adherence (synthetic)", rules_table(report)),
        ("not-learned", "Not learned", "Columns not learned", not_learned_table(report)),
        ("glossary", "Glossary", "What the numbers mean", glossary()),
    ]
    return [(anchor, label, _section(anchor, heading, body)) for anchor, label, heading, body in candidates if body]


def page(report: QualityReport, gate_results: list[GateResult], *, title: str = "Synthetic data quality") -> str:
    """The whole page as one string."""
    sections = _sections(report, gate_results)
    links = nav([("verdict", "Verdict")] + [(anchor, label) for anchor, label, _ in sections])
    body = "".join(html for _, _, html in sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f"<body>{links}<main>{header(report, title)}{banner(gate_results, report)}{body}</main></body></html>"
    )
