"""The quality report: typed metrics, each a described pydantic field, so the JSON documents itself.

A :class:`QualityReport` is what :func:`synth_pipeline.quality.evaluate` returns: data only. Sections that
were not computed (see ``evaluate(metrics=...)``) are ``None``. The report also carries :class:`PlotData`,
the small binned summaries the HTML page draws; the page (:func:`synth_pipeline.quality.html.render_html`)
computes nothing, and the publishing policy lives in :mod:`synth_pipeline.quality.gates`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synth_pipeline.io import write_text
from synth_pipeline.quality.text import TextColumnQuality


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PairAccuracy(_Model):
    """Bivariate accuracy of one pair of columns."""

    columns: tuple[str, str] = Field(description="The two columns, in table order.")
    accuracy: float = Field(description="1 - TVD between the training and synthetic joint binned frequencies.")
    accuracy_max: float = Field(description="The same for holdout vs training: the ceiling for this pair.")


class Accuracy(_Model):
    """Closeness of binned low-dimensional marginals: accuracy = 1 - total variation distance (TVD).

    Numerics and datetimes are cut into (up to) 10 quantile bins fixed on training, values outside the
    training range get their own bins; categoricals keep their 10 most frequent training values (seen at
    least 5 times) plus an "other" bin; missing is its own bin. The ``*_max`` values compare holdout with
    training in the same way: what a fresh sample of the real data reaches, the ceiling to aim for.
    """

    overall: float = Field(description="Mean of univariate, bivariate and trivariate accuracy (those computed).")
    univariate: float = Field(description="Mean accuracy of the binned distribution of every column.")
    bivariate: float | None = Field(description="Mean accuracy of the binned joint distribution of every pair.")
    trivariate: float | None = Field(
        description="Mean accuracy of the binned joint distribution of every triple (a seeded sample of 1,000 "
        "triples when there are more)."
    )
    overall_max: float = Field(description="Overall accuracy of holdout vs training: the ceiling of `overall`.")
    univariate_max: float = Field(description="Univariate accuracy of holdout vs training.")
    bivariate_max: float | None = Field(description="Bivariate accuracy of holdout vs training.")
    trivariate_max: float | None = Field(description="Trivariate accuracy of holdout vs training.")
    n_pairs: int = Field(description="Number of column pairs measured.")
    n_triples: int = Field(description="Number of column triples measured.")
    pairs: list[PairAccuracy] = Field(description="Bivariate accuracy per pair, weakest first.")


class Similarity(_Model):
    """How hard it is to tell synthetic from training rows, and per-column two-sample statistics."""

    discriminator_auc_training_synthetic: float | None = Field(
        description="Cross-validated ROC AUC of a LightGBM classifier telling synthetic from training rows "
        "(0.5 is ideal: indistinguishable)."
    )
    discriminator_auc_training_holdout: float | None = Field(
        description="The same classifier telling holdout from training rows: the reference, about 0.5."
    )
    correlation_difference: float | None = Field(
        description="Mean absolute difference between the association matrices (Cramér's V of every binned "
        "column pair) of training and synthetic."
    )
    correlation_difference_holdout: float | None = Field(
        description="The same between training and holdout: the reference."
    )
    ks_statistic: dict[str, float] = Field(
        description="Kolmogorov-Smirnov statistic, training vs synthetic, per numeric or datetime column."
    )
    ks_statistic_holdout: dict[str, float] = Field(description="KS statistic, training vs holdout (reference).")
    chi2_statistic: dict[str, float] = Field(
        description="Chi-squared statistic of the training vs synthetic binned counts, per categorical or "
        "boolean column."
    )
    chi2_pvalue: dict[str, float] = Field(description="p-value of that chi-squared test.")
    chi2_statistic_holdout: dict[str, float] = Field(description="Chi-squared statistic, training vs holdout.")


class SubsetShare(_Model):
    """DCR share measured on one subset of the columns."""

    group: str = Field(description="'all', 'correlated' or 'random'.")
    columns: list[str] = Field(description="The columns the distance was measured on.")
    dcr_share: float = Field(description="Share of synthetic rows closer to training than to holdout on them.")
    view: str = Field(
        default="ranks",
        description="The encoding of the rows: 'ranks' (quantile ranks and one-hot labels, all rows) or 'unit "
        "rows' (centred ranks and labels, every row scaled to length 1, on a seeded sample of 10,000 rows).",
    )


class Distances(_Model):
    """Privacy: distances from synthetic rows to their closest training and holdout rows.

    Rows are encoded per column so that each contributes at most 1 to the squared distance: numerics and
    datetimes by their training quantile rank (0..1, clipped outside the training range), categoricals
    one-hot scaled so a mismatch counts 1 (random unit vectors for more than 64 labels), missing values by
    a flag. Training, holdout and synthetic are sampled to the same size.
    """

    n_rows: int = Field(description="Rows per table used (equal-sized samples).")
    dcr_share: float = Field(
        description="Share of synthetic rows closer to a training row than to a holdout row (ties count half), "
        "worst case over all columns and several column subsets, in two encodings of the rows. 0.5 is ideal; "
        "above it the generator "
        "stays closer to what it saw than to fresh real rows."
    )
    dcr_share_all_columns: float = Field(description="DCR share measured on all columns together.")
    dcr_share_subsets: list[SubsetShare] = Field(description="DCR share per column subset that was checked.")
    dcr_training: float = Field(description="Mean distance of a synthetic row to its closest training row.")
    dcr_holdout: float = Field(description="Mean distance of a synthetic row to its closest holdout row.")
    dcr_training_p5: float = Field(description="5th percentile of the synthetic-to-training distances.")
    dcr_holdout_p5: float = Field(description="5th percentile of the synthetic-to-holdout distances.")
    dcr_holdout_training: float = Field(
        description="Mean distance of a holdout row to its closest training row: the reference for dcr_training "
        "(on a seeded sample of at most 10,000 holdout rows)."
    )
    dcr_holdout_training_p5: float = Field(description="5th percentile of the holdout-to-training distances.")
    nndr_training_p5: float | None = Field(
        description="5th percentile of the nearest-neighbour distance ratio (closest / second closest) of "
        "synthetic rows among training rows; small values flag rows sitting on one training row. None with fewer "
        "than 2 reference rows."
    )
    nndr_holdout_p5: float | None = Field(description="The same among holdout rows.")
    nndr_holdout_training_p5: float | None = Field(
        description="The same for holdout rows among training rows (reference)."
    )
    ims_training: float = Field(description="Share of synthetic rows identical to a training row.")
    ims_holdout: float = Field(description="Share of synthetic rows identical to a holdout row.")
    ims_holdout_training: float = Field(
        description="Share of holdout rows identical to a training row: the reference for ims_training "
        "(real data has natural duplicates)."
    )


class AttributeInference(_Model):
    """Attribute inference on one sensitive column: an attacker who knows every other column of a real row
    guesses this one from the closest synthetic rows (numbers and datetimes: the right decile)."""

    column: str = Field(description="The sensitive column.")
    success_training: float = Field(description="Share of training rows whose value the attacker guesses right.")
    success_holdout: float = Field(
        description="The same on holdout rows, which the generator never saw: what the synthetic table teaches "
        "about anyone, not about its training rows."
    )
    base_rate: float = Field(description="Share of holdout rows a guess of the most frequent training value gets.")
    gain: float = Field(description="success_training - success_holdout: the leak about training rows (0 is ideal).")
    gain_null_sd: float = Field(
        description="Standard deviation of the gain for a perfect generator at these sample sizes (sampling noise)."
    )


class Reidentification(_Model):
    """Anonymeter's singling out (univariate and multivariate modes) and linkability, holdout rows as control.

    Risk = (rate on training - rate on holdout) / (1 - rate on holdout): 0 is ideal, 1 means every attack on a
    training row succeeds where attacks on fresh rows fail."""

    singling_out_rate_training: float = Field(
        description="Share of the attacks (predicates written from the synthetic table that match exactly one "
        "synthetic row) that match exactly one training row."
    )
    singling_out_rate_holdout: float = Field(description="The same on as many holdout rows (the control).")
    singling_out_risk: float = Field(description="Anonymeter's singling-out risk (0 is ideal).")
    singling_out_predicates: int = Field(description="Predicates the synthetic table yielded (at most 2,000).")
    singling_out_multivariate_rate_training: float | None = Field(
        default=None, description="Multivariate mode: share of the attacks (conjunctions of conditions on "
        "3 columns, written from one synthetic row, that match exactly one synthetic row) that match exactly one "
        "training row; None with a single column."
    )
    singling_out_multivariate_rate_holdout: float | None = Field(
        default=None, description="The same on as many holdout rows (the control)."
    )
    singling_out_multivariate_risk: float | None = Field(
        default=None, description="Anonymeter's multivariate singling-out risk (0 is ideal)."
    )
    singling_out_multivariate_predicates: int | None = Field(
        default=None, description="Conjunctions the synthetic table yielded (at most 500, the attacks asked for)."
    )
    singling_out_multivariate_columns: int | None = Field(
        default=None, description="Columns per conjunction (3, Anonymeter's default)."
    )
    linkability_rate_training: float = Field(
        description="Share of training rows whose two column halves have the same closest synthetic row."
    )
    linkability_rate_holdout: float = Field(description="The same for holdout rows (the control).")
    linkability_risk: float = Field(description="Anonymeter's linkability risk (0 is ideal).")
    linkability_columns: tuple[list[str], list[str]] = Field(description="The two halves of the columns.")


class Attacks(_Model):
    """Attacks on the synthetic table, with the holdout as the non-members (see synth_pipeline.quality.attacks)."""

    mia_auc: float | None = Field(
        description="ROC AUC of a membership-inference attack (the ratio of a row's distance to the closest "
        "holdout row and to the closest synthetic row) telling training rows from holdout rows. 0.5 is ideal: "
        "the synthetic table does not reveal who was in the training data."
    )
    mia_tpr_at_1pct_fpr: float | None = Field(
        description="Share of training rows the attack flags when it may wrongly flag 1% of holdout rows "
        "(0.01 is ideal)."
    )
    mia_auc_null_sd: float | None = Field(
        description="Standard deviation of the AUC for a perfect generator at these sample sizes (sampling noise): "
        "an AUC within 4 of them of 0.5 is no evidence of a leak (the gate max_mia_auc passes it)."
    )
    mia_rows: int = Field(description="Training rows (members) and holdout rows (non-members) attacked, each.")
    mia_reference_rows: int = Field(description="Holdout rows the attacker uses as the reference population.")
    attribute_inference: list[AttributeInference] = Field(description="One entry per sensitive column.")
    attribute_inference_gain: float | None = Field(
        description="Largest gain over the sensitive columns (0 is ideal); None when no column could be attacked."
    )
    attribute_inference_gain_null_sd: float | None = Field(
        description="gain_null_sd of the column with the largest gain."
    )
    sensitive_columns: list[str] = Field(description="The columns attribute inference attacked.")
    sensitive_columns_rule: str = Field(description="How they were chosen.")
    reidentification: Reidentification | None = Field(
        None, description="Singling out and linkability; None for a table of one column."
    )


class Utility(_Model):
    """Train on synthetic, test on real (TSTR) beside train on real, test on real (TRTR), scored on holdout."""

    target: str = Field(description="The predicted column.")
    task: str = Field(description="'classification' or 'regression'.")
    tstr_auc: float | None = Field(None, description="ROC AUC on holdout of a model trained on synthetic (macro OvR).")
    trtr_auc: float | None = Field(None, description="ROC AUC on holdout of a model trained on training.")
    tstr_accuracy: float | None = Field(None, description="Accuracy on holdout of the model trained on synthetic.")
    trtr_accuracy: float | None = Field(None, description="Accuracy on holdout of the model trained on training.")
    tstr_r2: float | None = Field(None, description="R² on holdout of the model trained on synthetic.")
    trtr_r2: float | None = Field(None, description="R² on holdout of the model trained on training.")
    tstr_rmse: float | None = Field(None, description="RMSE on holdout of the model trained on synthetic.")
    trtr_rmse: float | None = Field(None, description="RMSE on holdout of the model trained on training.")


class ColumnEntropy(_Model):
    """Shannon entropy (nats) of one categorical column's values."""

    training: float
    holdout: float
    synthetic: float


class Diversity(_Model):
    """Does synthetic data keep the variety of the real data (no collapse onto few values or rows)?"""

    entropy: dict[str, ColumnEntropy] = Field(
        description="Shannon entropy (nats) per categorical or boolean column, missing counted as a value."
    )
    distinct_rows_training: float = Field(description="Share of distinct rows in the training sample.")
    distinct_rows_holdout: float = Field(description="Share of distinct rows in the holdout sample.")
    distinct_rows_synthetic: float = Field(description="Share of distinct rows in the synthetic sample.")


class ColumnReport(_Model):
    """Per-column details."""

    name: str
    kind: str = Field(description="The column kind from the schema.")
    accuracy: float | None = Field(None, description="Univariate accuracy, training vs synthetic.")
    accuracy_max: float | None = Field(None, description="Univariate accuracy, training vs holdout (ceiling).")
    bivariate_accuracy: float | None = Field(
        None, description="Mean bivariate accuracy of the pairs this column is part of, training vs synthetic."
    )
    bivariate_accuracy_max: float | None = Field(
        None, description="The same, training vs holdout (ceiling)."
    )
    missing_training: float = Field(description="Share of missing values in the training sample.")
    missing_holdout: float = Field(description="Share of missing values in the holdout sample.")
    missing_synthetic: float = Field(description="Share of missing values in the synthetic sample.")


class RuleAdherence(_Model):
    """What declared rules report about the tables (filled by the constraints' ``adherence(df)``)."""

    synthetic: list[dict[str, Any]] = Field(description="One entry per rule, as the rule reports it, on synthetic.")
    training: list[dict[str, Any]] = Field(description="The same on training: the reference.")


class UnivariatePlot(_Model):
    """Binned relative frequencies of one column (what the HTML draws)."""

    column: str
    labels: list[str]
    training: list[float]
    synthetic: list[float]
    holdout: list[float]


class BivariatePlot(_Model):
    """Binned joint relative frequencies of one pair (rows: first column's bins, columns: second's)."""

    columns: tuple[str, str]
    accuracy: float
    accuracy_max: float
    row_labels: list[str]
    column_labels: list[str]
    training: list[list[float]]
    synthetic: list[list[float]]


class DistanceHistogram(_Model):
    """Shares of rows per bin of closest-record distance, on shared bin edges (the last bin holds the tail)."""

    edges: list[float]
    synthetic_training: list[float]
    synthetic_holdout: list[float]
    holdout_training: list[float]


class CorrelationMatrices(_Model):
    """Association (Cramér's V of the binned columns, 0 none to 1 complete) of every column pair, per table."""

    columns: list[str] = Field(description="Row and column order of the matrices.")
    training: list[list[float]] = Field(description="Cramér's V on training (unit diagonal).")
    synthetic: list[list[float]] = Field(description="Cramér's V on synthetic.")
    difference: list[list[float]] = Field(description="synthetic - training, per pair (0 is ideal).")


class PlotData(_Model):
    """Everything the HTML page draws, computed once in ``evaluate``."""

    univariate: list[UnivariatePlot] = Field(default_factory=list)
    bivariate: list[BivariatePlot] = Field(default_factory=list, description="The weakest pairs.")
    distances: DistanceHistogram | None = None
    correlations: CorrelationMatrices | None = None


class ReportHeader(_Model):
    """What was assessed: shown at the top of the HTML page. Every field is optional (``evaluate`` leaves them
    empty; the lifecycle's ``assess`` fills them)."""

    dataset: str | None = Field(None, description="The dataset's name in the configuration.")
    version: int | None = Field(None, description="The snapshot version the synthetic table is published as.")
    model_id: str | None = Field(None, description="The id of the model that generated the synthetic table.")
    generator: str | None = Field(None, description="The generator's name (argn, copula).")
    generated_at: str | None = Field(None, description="When the report was made (ISO 8601, UTC).")
    epsilon: float | None = Field(
        None, description="The differential-privacy ε the model spent (None: no DP, or no model named)."
    )
    delta: float | None = Field(None, description="The differential-privacy δ the model spent.")
    training_rows_seen: int | None = Field(
        None, description="The training rows the model learned from (a sample when max_training_rows caps them)."
    )
    snapshot_rows: int | None = Field(
        None, description="Rows of the whole snapshot; QA judged a reproducible subsample of them (rows_synthetic)."
    )


class ColumnNotLearned(_Model):
    """A source column the generator does not model (so the QA report does not measure it either)."""

    column: str = Field(description="The column's name in the source.")
    kind: str = Field(description="Its kind in the schema (e.g. id, text).")
    reason: str = Field(description="Why it is not learned, in words.")


class Metadata(_Model):
    """How the report was computed."""

    rows_training: int = Field(description="Rows of the training table given.")
    rows_holdout: int = Field(description="Rows of the holdout table given.")
    rows_synthetic: int = Field(description="Rows of the synthetic table given.")
    rows_used_training: int = Field(description="Training rows used (sampled to max_rows).")
    rows_used_comparison: int = Field(
        description="Holdout and synthetic rows used for accuracy (equal-sized samples, so the ceiling is fair)."
    )
    rows_used_distances: int | None = Field(
        None, description="Rows of each table used for the distances (equal-sized samples, at most max_distance_rows)."
    )
    columns: list[str] = Field(description="Columns evaluated.")
    excluded_columns: list[str] = Field(
        description="Id and free-text columns, left out of the table metrics (free text has the `text` section)."
    )
    target: str | None = None
    max_rows: int
    max_distance_rows: int | None = None
    random_state: int | None
    metrics: list[str] = Field(description="Sections computed.")
    seconds: float = Field(description="Wall time of evaluate.")
    seconds_by_section: dict[str, float] = Field(default_factory=dict)
    version: str = Field(description="synth_pipeline version that computed the report.")


class QualityReport(_Model):
    """Quality and privacy of a synthetic table, measured against its training and holdout tables."""

    accuracy: Accuracy | None = None
    similarity: Similarity | None = None
    distances: Distances | None = None
    attacks: Attacks | None = None
    utility: Utility | None = None
    diversity: Diversity | None = None
    columns: list[ColumnReport] = Field(default_factory=list)
    rule_adherence: RuleAdherence | None = None
    text: list[TextColumnQuality] | None = Field(
        None, description="Free-text columns: lengths, token frequencies, verbatim copies, rare tokens."
    )
    columns_not_learned: list[ColumnNotLearned] = Field(
        default_factory=list, description="Source columns the generator does not model, with the reason."
    )
    header: ReportHeader = Field(default_factory=ReportHeader, description="What was assessed (page header).")
    metadata: Metadata
    plots: PlotData = Field(default_factory=PlotData, description="Binned summaries for the HTML page.")

    def to_dict(self, *, plots: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (``plots=False`` leaves the HTML's plot data out)."""
        return self.model_dump(mode="json", exclude=None if plots else {"plots"})

    def to_json(self, *, indent: int | None = 2, plots: bool = True) -> str:
        """The report as JSON text; ``QualityReport.from_json`` reads it back."""
        return self.model_dump_json(indent=indent, exclude=None if plots else {"plots"})

    @classmethod
    def from_json(cls, text: str | bytes) -> QualityReport:
        """Read a report written by :meth:`to_json`."""
        return cls.model_validate_json(text)

    def save_json(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` atomically and return it."""
        return write_text(path, self.to_json())

    @classmethod
    def load_json(cls, path: str | Path) -> QualityReport:
        """Read a report written by :meth:`save_json`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def summary(self) -> dict[str, float]:
        """The headline numbers as a flat ``name -> float`` dict (Dagster metadata, snapshot catalog)."""
        out: dict[str, float] = {}
        for section, names in _SUMMARY_FIELDS:
            part = getattr(self, section)
            if part is None:
                continue
            for name in names:
                value = getattr(part, name.removeprefix("accuracy_"))
                if value is not None and math.isfinite(value):
                    out[name] = float(value)
            if section == "accuracy" and part.overall_max > 0:
                out["accuracy_ratio"] = part.overall / part.overall_max
        if math.isfinite(self.metadata.seconds):
            out["seconds"] = float(self.metadata.seconds)
        return out


# section -> the summary names read from it, in summary order ("accuracy_x" reads accuracy.x)
_SUMMARY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("accuracy", tuple(f"accuracy_{n}{m}" for n in ("overall", "univariate", "bivariate", "trivariate")
                       for m in ("", "_max"))),
    ("similarity", ("discriminator_auc_training_synthetic", "discriminator_auc_training_holdout",
                    "correlation_difference")),
    ("distances", ("dcr_share", "dcr_share_all_columns", "dcr_training", "dcr_holdout", "dcr_training_p5",
                   "dcr_holdout_p5", "nndr_training_p5", "nndr_holdout_p5", "ims_training", "ims_holdout")),
    ("attacks", ("mia_auc", "mia_tpr_at_1pct_fpr", "attribute_inference_gain")),
    ("utility", ("tstr_auc", "trtr_auc", "tstr_accuracy", "trtr_accuracy", "tstr_r2", "trtr_r2", "tstr_rmse",
                 "trtr_rmse")),
    ("diversity", ("distinct_rows_synthetic",)),
)
