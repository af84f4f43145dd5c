"""The HTML report's first screen: header, verdict banner, navigation, headline cards and the gates table.

Layout only: the numbers come from the :class:`QualityReport` and the gate results; nothing is measured here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synth_pipeline.quality.gates import GateResult
from synth_pipeline.quality.html_charts import esc, num, pct
from synth_pipeline.quality.report import QualityReport

# gate -> (section anchor, where to look)
WHERE_TO_LOOK: dict[str, tuple[str, str]] = {
    "min_accuracy_ratio": ("accuracy", "Accuracy: the columns furthest below their ceiling"),
    "min_accuracy": ("accuracy", "Accuracy: the columns furthest below their ceiling"),
    "max_dcr_share": ("privacy", "Privacy: DCR share per column subset"),
    "max_ims_training": ("privacy", "Privacy: rows identical to a training row"),
    "max_mia_auc": ("attacks", "Privacy: membership inference"),
    "max_attribute_inference_gain": ("attacks", "Privacy: attribute inference per sensitive column"),
    "max_discriminator_auc": ("summary", "Summary: discriminator AUC, then Accuracy for what differs"),
    "max_epsilon": ("gates", "the model's ε in the header (no ε: trained without generator privacy)"),
}


def table(header: Sequence[str], rows: Sequence[str], css: str = "") -> str:
    """A table with escaped header cells and ready-made ``<tr>`` rows."""
    klass = f' class="{css}"' if css else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def row(cells: Sequence[str], numeric: Sequence[int] = ()) -> str:
    """One table row of ready-made (escaped) cells; the columns in ``numeric`` are right-aligned."""
    return "<tr>" + "".join(
        f'<td class="num">{c}</td>' if k in numeric else f"<td>{c}</td>" for k, c in enumerate(cells)
    ) + "</tr>"


def header(report: QualityReport, title: str) -> str:
    """The page title, what was assessed (dataset, version, model, generator, date) and how."""
    h, m = report.header, report.metadata
    facts = [
        ("dataset", h.dataset), ("snapshot version", h.version), ("model id", h.model_id),
        ("generator", h.generator), ("generated", h.generated_at),
        ("differential privacy", f"ε = {h.epsilon:.3g}, δ = {h.delta:.2g}" if h.epsilon is not None else None),
        ("rows the model learned from", f"{h.training_rows_seen:,}" if h.training_rows_seen is not None else None),
    ]
    if h.snapshot_rows is not None and h.snapshot_rows > m.rows_synthetic:
        facts.append(("QA subsample", f"{m.rows_synthetic:,} of {h.snapshot_rows:,} snapshot rows (reproducible)"))
    shown = "".join(
        f"<div><span>{esc(label)}</span><b>{esc(value)}</b></div>" for label, value in facts if value is not None
    )
    how = (
        f"{m.rows_training:,} training, {m.rows_holdout:,} holdout, {m.rows_synthetic:,} synthetic rows; "
        f"{len(m.columns)} columns evaluated"
        + (f", id columns left out: {', '.join(m.excluded_columns)}" if m.excluded_columns else "")
        + (f"; target {m.target}" if m.target else "")
        + f"; computed in {m.seconds:.1f} s by synth_pipeline {m.version}"
    )
    return f"<header><h1>{esc(title)}</h1><div class='facts'>{shown}</div><p class='meta'>{esc(how)}</p></header>"


def nav(entries: Sequence[tuple[str, str]]) -> str:
    """The sticky navigation bar: ``(anchor, label)`` per section on the page."""
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in entries)
    return f"<nav>{links}</nav>"


def _failed_rules(report: QualityReport) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rules with violations on synthetic: (blocking, warning)."""
    entries = report.rule_adherence.synthetic if report.rule_adherence is not None else []
    broken = [e for e in entries if (e.get("violations") or 0) > 0]
    return [e for e in broken if e.get("blocking")], [e for e in broken if not e.get("blocking")]


def verdict(gate_results: list[GateResult], report: QualityReport) -> str:
    """'FAIL' (a blocking gate or rule failed), 'WARN' (only warnings), 'PASS', or 'UNCHECKED' (no gate)."""
    blocking_rules, warning_rules = _failed_rules(report)
    if blocking_rules or any(r.severity == "error" for r in gate_results):
        return "FAIL"
    if warning_rules or any(r.severity == "warn" for r in gate_results):
        return "WARN"
    return "PASS" if gate_results else "UNCHECKED"


def banner(gate_results: list[GateResult], report: QualityReport) -> str:
    """The verdict on top: PASS/FAIL, and for each failed gate or rule its value, limit and where to look."""
    outcome = verdict(gate_results, report)
    failed = [r for r in gate_results if not r.passed]
    blocking_rules, warning_rules = _failed_rules(report)
    headline = {
        "FAIL": "FAIL: not publishable",
        "WARN": "PASS with warnings",
        "PASS": f"PASS: all {len(gate_results)} gates passed",
        "UNCHECKED": "NO GATES: nothing was checked",
    }[outcome]
    items = [_gate_item(r, report) for r in failed]
    items += [_rule_item(e, blocking=True) for e in blocking_rules]
    items += [_rule_item(e, blocking=False) for e in warning_rules]
    passed = [r.name for r in gate_results if r.passed]
    note = f"<p>Passed: {esc(', '.join(passed))}.</p>" if passed and failed else ""
    detail = f"<ul>{''.join(items)}</ul>" if items else ""
    css = {"FAIL": "fail", "WARN": "warn", "PASS": "pass", "UNCHECKED": "none"}[outcome]
    return (
        f'<section id="verdict" class="banner {css}"><div class="verdict">{esc(headline)}</div>'
        f"{detail}{note}{_headline_numbers(report)}</section>"
    )


def _gate_item(result: GateResult, report: QualityReport) -> str:
    kind = "blocking" if result.blocking else "warning"
    anchor, where = WHERE_TO_LOOK.get(result.name, ("gates", "Gates"))
    if result.value is None:
        what = "its metric was not computed, so it cannot pass"
    else:
        relation = "≥" if result.name.startswith("min_") else "≤"
        what = f"value {num(result.value, 4)}, required {relation} {result.threshold:g}"
    hint = _hint(result.name, report)
    return (
        f"<li><b>{esc(result.name)}</b> <span class='tag'>{kind}</span>: {esc(what)}. "
        f'Look at <a href="#{anchor}">{esc(where)}</a>{hint}.</li>'
    )


def _hint(gate: str, report: QualityReport) -> str:
    """The first things to look at for a failed gate, with links to their charts."""
    if gate in ("min_accuracy_ratio", "min_accuracy", "max_discriminator_auc"):
        gaps = sorted(
            (c.accuracy_max - c.accuracy, j, c)
            for j, c in enumerate(report.columns)
            if c.accuracy is not None and c.accuracy_max is not None
        )[::-1][:3]
        links = [f'<a href="#u{j}">{esc(c.name)}</a> {pct(c.accuracy)} (ceiling {pct(c.accuracy_max)})'
                 for _, j, c in gaps]
        pairs = [f'<a href="#p{k}">{esc(" × ".join(p.columns))}</a>' for k, p in enumerate(report.plots.bivariate[:3])]
        out = f"; columns furthest below ceiling: {', '.join(links)}" if links else ""
        return out + (f"; weakest pairs: {', '.join(pairs)}" if pairs else "")
    d = report.distances
    if gate == "max_ims_training" and d is not None:
        return (f"; {pct(d.ims_training)} of synthetic rows equal a training row, while "
                f"{pct(d.ims_holdout_training)} of holdout rows do")
    if gate == "max_dcr_share" and d is not None and d.dcr_share_subsets:
        worst = max(d.dcr_share_subsets, key=lambda s: s.dcr_share)
        where = "all columns" if worst.group == "all" else f"{worst.group} ({', '.join(worst.columns)})"
        return f"; worst subset: {esc(where)}, {esc(worst.view)} view, at {pct(worst.dcr_share)}"
    return ""


def _rule_item(entry: dict[str, Any], *, blocking: bool) -> str:
    kind = "blocking" if blocking else "warning"
    return (
        f"<li><b>rule {esc(entry.get('rule', '?'))}</b> <span class='tag'>{kind}</span>: "
        f"{esc(entry.get('violations'))} synthetic rows violate it. "
        f'Look at <a href="#rules">Rules</a>.</li>'
    )


def _headline_numbers(report: QualityReport) -> str:
    cards = []
    if report.accuracy is not None:
        a = report.accuracy
        cards.append(("overall accuracy", pct(a.overall), f"ceiling {pct(a.overall_max)}", "#accuracy"))
    if report.distances is not None:
        d = report.distances
        cards.append(("DCR share", pct(d.dcr_share), "ideal 50%", "#privacy"))
        cards.append(("identical to training", pct(d.ims_training), f"holdout: {pct(d.ims_holdout_training)}",
                      "#privacy"))
    if report.attacks is not None and report.attacks.mia_auc is not None:
        cards.append(("membership attack AUC", num(report.attacks.mia_auc), "ideal 0.5", "#attacks"))
    s = report.similarity
    if s is not None and s.discriminator_auc_training_synthetic is not None:
        cards.append(("discriminator AUC", num(s.discriminator_auc_training_synthetic), "ideal 0.5", "#summary"))
    u = report.utility
    if u is not None and u.tstr_auc is not None:
        cards.append((f"AUC predicting {u.target}", num(u.tstr_auc), f"on real: {num(u.trtr_auc)}", "#summary"))
    return '<div class="cards">' + "".join(
        f'<a class="kpi" href="{href}"><span class="l">{esc(label)}</span><span class="v">{value}</span>'
        f'<span class="l">{esc(note)}</span></a>'
        for label, value, note, href in cards
    ) + "</div>"


def gates_table(results: list[GateResult]) -> str:
    """Every gate: value, threshold, kind, verdict and where to look."""
    if not results:
        return "<p>No gates configured.</p>"
    rows = []
    for r in results:
        css = {"ok": "pass", "error": "fail", "warn": "warn"}[r.severity]
        label = {"ok": "PASS", "error": "FAIL (blocking)", "warn": "WARN"}[r.severity]
        anchor, where = WHERE_TO_LOOK.get(r.name, ("gates", "Gates"))
        rows.append(row([
            esc(r.name), num(r.value, 4), num(r.threshold, 4), "blocking" if r.blocking else "warning",
            f"<span class='{css}'>{label}</span>", esc(r.message), f'<a href="#{anchor}">{esc(where)}</a>',
        ], numeric=(1, 2)))
    return table(["gate", "value", "threshold", "kind", "verdict", "detail", "where to look"], rows)


def summary_table(report: QualityReport) -> str:
    """Every headline number beside its reference."""
    rows: list[list[str]] = []
    a, s, d, u = report.accuracy, report.similarity, report.distances, report.utility
    if a is not None:
        for name in ("overall", "univariate", "bivariate", "trivariate"):
            rows.append([f"accuracy {name}", pct(getattr(a, name)), pct(getattr(a, f"{name}_max")),
                         "holdout vs training (ceiling)"])
    if s is not None:
        rows.append(["discriminator AUC (ideal 0.5)", num(s.discriminator_auc_training_synthetic),
                     num(s.discriminator_auc_training_holdout), "holdout vs training"])
        rows.append(["correlation difference", num(s.correlation_difference), num(s.correlation_difference_holdout),
                     "holdout vs training"])
    if d is not None:
        rows += [
            ["DCR share, worst subset (ideal 50%)", pct(d.dcr_share), "50.0%", "ideal"],
            ["DCR share, all columns", pct(d.dcr_share_all_columns), "50.0%", "ideal"],
            ["mean DCR to training", num(d.dcr_training), num(d.dcr_holdout_training), "holdout to training"],
            ["mean DCR to holdout", num(d.dcr_holdout), num(d.dcr_holdout_training), "holdout to training"],
            ["identical to a training row", pct(d.ims_training), pct(d.ims_holdout_training),
             "holdout rows identical to a training row"],
            ["NNDR 5th percentile (training)", num(d.nndr_training_p5), num(d.nndr_holdout_training_p5),
             "holdout among training"],
        ]
    if u is not None:
        target = esc(u.target)
        if u.task == "classification":
            rows.append([f"AUC predicting {target} (TSTR)", num(u.tstr_auc), num(u.trtr_auc), "TRTR"])
            rows.append([f"accuracy predicting {target} (TSTR)", pct(u.tstr_accuracy), pct(u.trtr_accuracy), "TRTR"])
        else:
            rows.append([f"R² predicting {target} (TSTR)", num(u.tstr_r2), num(u.trtr_r2), "TRTR"])
            rows.append([f"RMSE predicting {target} (TSTR)", num(u.tstr_rmse), num(u.trtr_rmse), "TRTR"])
    if report.diversity is not None:
        rows.append(["distinct rows, synthetic", pct(report.diversity.distinct_rows_synthetic),
                     pct(report.diversity.distinct_rows_holdout), "holdout"])
    if not rows:
        return ""
    return table(["metric", "synthetic", "reference", "reference is"], [row(r, numeric=(1, 2)) for r in rows])
