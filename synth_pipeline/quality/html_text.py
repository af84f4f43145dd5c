"""The HTML page's free-text section: one table, synthetic beside holdout for every measure of a text column."""

from __future__ import annotations

from synth_pipeline.quality.html_charts import esc
from synth_pipeline.quality.html_sections import row, table
from synth_pipeline.quality.report import QualityReport

NOTE = (
    "Free-text columns are left out of the table metrics and measured here, each number for synthetic beside "
    "the same for holdout (a fresh real sample): length and token-frequency accuracy (1 - TVD, higher is better, "
    "up to the holdout's), texts found verbatim in training (at most the holdout's share is good), copies of rare "
    "training texts and rare tokens such as names and numbers (0 is good)."
)

_MEASURES = (
    ("mean tokens per text", "mean_tokens_synthetic", "mean_tokens_holdout", "{:.1f}"),
    ("length accuracy", "length_accuracy", "length_accuracy_holdout", "{:.3f}"),
    ("token-frequency accuracy", "token_accuracy", "token_accuracy_holdout", "{:.3f}"),
    ("found verbatim in training", "verbatim_share_synthetic", "verbatim_share_holdout", "{:.2%}"),
    ("copies of rare training texts", "rare_verbatim_share_synthetic", "rare_verbatim_share_holdout", "{:.2%}"),
    ("rare tokens (names, numbers)", "rare_token_share_synthetic", "rare_token_share_holdout", "{:.2%}"),
    ("distinct texts", "distinct_share_synthetic", "distinct_share_holdout", "{:.2%}"),
)


def text_table(report: QualityReport) -> str:
    """The free-text measures of each text column (empty when the report has none)."""
    if not report.text:
        return ""
    parts = [f"<p class='explain'>{esc(NOTE)}</p>"]
    for column in report.text:
        rows = [
            row([esc(label), esc(fmt.format(getattr(column, mine))), esc(fmt.format(getattr(column, holdout)))], (1, 2))
            for label, mine, holdout, fmt in _MEASURES
        ]
        parts.append(f"<h3>{esc(column.column)}</h3><p class='meta'>{esc(column.reason)}</p>")
        parts.append(table(["measure", "synthetic", "holdout"], rows))
    return "".join(parts)
