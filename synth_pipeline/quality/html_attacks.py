"""The HTML report's attacks section: each attack's numbers with a plain-language reading (layout only)."""

from __future__ import annotations

from synth_pipeline.quality.html_charts import esc, num, pct
from synth_pipeline.quality.html_sections import row, table
from synth_pipeline.quality.report import QualityReport, Reidentification


def _mia_rows(report: QualityReport) -> list[str]:
    a = report.attacks
    if a is None or a.mia_auc is None:
        return []
    noise = f" (sampling noise at {a.mia_rows:,} rows each: ±{num(a.mia_auc_null_sd, 3)})" if a.mia_auc_null_sd else ""
    return [
        row(["membership inference AUC", num(a.mia_auc, 3), "0.5",
             esc(f"An attacker holding the synthetic table and {a.mia_reference_rows:,} real rows of the population "
                 "guesses whether a real person's row was in the training data. 0.5: no better than a coin toss; "
                 f"1.0: always right.{noise}")], numeric=(1, 2)),
        row(["true positives at 1% false positives", pct(a.mia_tpr_at_1pct_fpr), "1.0%",
             esc("The share of training rows the attacker flags as members while wrongly flagging only 1 in 100 "
                 "others: the people the attack exposes with confidence.")], numeric=(1, 2)),
    ]


def _inference_rows(report: QualityReport) -> list[str]:
    a = report.attacks
    if a is None:
        return []
    out = []
    for x in a.attribute_inference:
        reading = (f"Knowing the other columns of a real row, the closest synthetic rows reveal its {x.column!r} "
                   f"right {pct(x.success_training)} of the time for training rows and {pct(x.success_holdout)} for "
                   f"rows the generator never saw (guessing the most common value: {pct(x.base_rate)}). The gap is "
                   "what the synthetic table leaks about the people it was trained on.")
        out.append(row([esc(f"attribute inference gain: {x.column}"), num(x.gain, 3), "0",
                        esc(reading)], numeric=(1, 2)))
    return out


def _reidentification_rows(report: QualityReport) -> list[str]:
    r = report.attacks.reidentification if report.attacks is not None else None
    if r is None:
        return []
    first_half = ", ".join(r.linkability_columns[0])
    return [
        row(["singling-out risk (Anonymeter)", num(r.singling_out_risk, 3), "0",
             esc(f"Of {r.singling_out_predicates:,} statements written from the synthetic table that fit exactly one "
                 f"synthetic row, {pct(r.singling_out_rate_training)} fit exactly one training row and "
                 f"{pct(r.singling_out_rate_holdout)} one holdout row. The risk is the excess on training rows: "
                 "how often the table lets someone single out a real person it was trained on.")], numeric=(1, 2)),
        *_multivariate_rows(r),
        row(["linkability risk (Anonymeter)", num(r.linkability_risk, 3), "0",
             esc(f"Someone holding two tables of the same people, one with the columns {first_half} and "
                 f"one with the rest, joins {pct(r.linkability_rate_training)} of training rows through their "
                 f"closest synthetic row, and {pct(r.linkability_rate_holdout)} of holdout rows. The risk is the "
                 "excess on training rows.")], numeric=(1, 2)),
    ]


def _multivariate_rows(r: Reidentification) -> list[str]:
    if r.singling_out_multivariate_risk is None:
        return []
    return [row(["singling-out risk, multivariate (Anonymeter)", num(r.singling_out_multivariate_risk, 3), "0",
                 esc(f"Of {r.singling_out_multivariate_predicates:,} statements combining "
                     f"{r.singling_out_multivariate_columns} columns of one synthetic row (such as 'age >= 61 and "
                     "sex is Female and job is nurse') that fit exactly one synthetic row, "
                     f"{pct(r.singling_out_multivariate_rate_training)} of the attacks fit exactly one training row "
                     f"and {pct(r.singling_out_multivariate_rate_holdout)} one holdout row. The risk is the "
                     "excess on training rows.")], numeric=(1, 2))]


def attack_section(report: QualityReport) -> str:
    """Membership and attribute inference: the numbers, the ideal and what each says."""
    a = report.attacks
    if a is None:
        return ""
    rows = _mia_rows(report) + _inference_rows(report) + _reidentification_rows(report)
    note = f"<p class='explain'>Sensitive columns: {esc(', '.join(a.sensitive_columns) or 'none')} " \
           f"({esc(a.sensitive_columns_rule)}).</p>"
    return table(["attack", "value", "ideal", "what it means"], rows) + note if rows else note
