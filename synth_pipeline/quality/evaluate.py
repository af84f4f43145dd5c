"""``evaluate``: the holdout-based quality and privacy report of a synthetic table."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.quality.accuracy import compute_accuracy, cramers_v
from synth_pipeline.quality.binning import bin_tables, column_values
from synth_pipeline.quality.privacy import compute_distances, distinct_share
from synth_pipeline.quality.report import (
    ColumnEntropy,
    ColumnReport,
    Diversity,
    Metadata,
    PlotData,
    QualityReport,
    RuleAdherence,
)
from synth_pipeline.quality.similarity import compute_similarity
from synth_pipeline.quality.utility import compute_utility
from synth_pipeline.schema import Schema, apply_schema, check_table, infer_schema
from synth_pipeline.version import __version__

# Distances compare every synthetic row with every training and holdout row: 25,000 rows per table keep
# that to seconds on a laptop and the DCR share's standard error near 0.3 pp.
DEFAULT_MAX_DISTANCE_ROWS = 25_000
METRICS = ("accuracy", "similarity", "distances", "utility", "diversity")
_LABEL_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


def evaluate(
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    target: str | None = None,
    schema: Schema | None = None,
    max_rows: int = 100_000,
    max_distance_rows: int = DEFAULT_MAX_DISTANCE_ROWS,
    random_state: int | None = 0,
    rules: Any = None,
    metrics: Collection[str] | None = None,
) -> QualityReport:
    """Measure how faithful and how private ``synthetic`` is, against ``training`` and ``holdout``.

    Every metric compares synthetic with training, and holdout with training as the reference a fresh
    real sample reaches. Tables are sampled to at most ``max_rows`` rows; holdout and synthetic are
    compared on equal-sized samples, and the distances on equal-sized samples of all three of at most
    ``max_distance_rows`` rows (nearest-neighbour search grows with the square of it). Id columns
    are left out. ``metrics`` picks sections (``{"accuracy", "distances"}`` is fast); the others are None.
    ``utility`` needs ``target``. ``rules``: objects (or one object) with ``adherence(df) -> list[dict]``;
    their reports on synthetic and training fill ``rule_adherence``. Deterministic for a given
    ``random_state``.

    >>> report = evaluate(training, holdout, synthetic, target="income")  # doctest: +SKIP
    >>> report.accuracy.overall, report.distances.dcr_share  # doctest: +SKIP
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    tables = {"training": training, "holdout": holdout, "synthetic": synthetic}
    for name, table in tables.items():
        check_table(table, what=name)
    _check_columns(tables)
    if max_rows < 1:
        raise ConfigError(f"max_rows must be a positive number of rows, got {max_rows}")
    if max_distance_rows < 1:
        raise ConfigError(f"max_distance_rows must be a positive number of rows, got {max_distance_rows}")
    wanted = _parse_metrics(metrics, target)

    schema = schema if schema is not None else infer_schema(training, what="training")
    missing = [c for c in schema.names if c not in training.columns]
    if missing:
        raise InvalidDataError(f"the schema names column(s) {', '.join(map(repr, missing))} the tables lack")
    excluded = schema.names_of(ColumnKind.ID)
    columns = [c for c in schema.names if c not in excluded]
    if target is not None:
        if target not in training.columns:
            have = ", ".join(map(str, training.columns))
            raise ConfigError(f"target {target!r} is not a column; the tables have: {have}")
        if target in excluded:
            raise ConfigError(f"target {target!r} is an id column; choose a column that can be predicted")
    if not columns:
        raise InvalidDataError(f"nothing to evaluate: every column is an id column ({', '.join(excluded)})")
    kinds = {c: schema.kind(c) for c in columns}
    evaluated_schema = Schema([schema[c] for c in columns])

    seeds = np.random.SeedSequence(random_state).spawn(8)
    rngs = [np.random.default_rng(s) for s in seeds]
    model_seed = int(seeds[7].generate_state(1)[0] % (2**31 - 1))

    def canonical(name: str) -> pd.DataFrame:
        try:
            return apply_schema(tables[name][columns], evaluated_schema, what=name).reset_index(drop=True)
        except InvalidDataError as error:
            raise InvalidDataError(f"{name}: {error} (the kinds come from the training schema)") from None

    full = {name: canonical(name) for name in tables}
    n_training = min(len(full["training"]), max_rows)
    n_compare = min(len(full["holdout"]), len(full["synthetic"]), max_rows)
    n_distance = min(n_training, n_compare, max_distance_rows)
    order = {name: rngs[k].permutation(len(full[name])) for k, name in enumerate(("training", "holdout", "synthetic"))}

    def take(name: str, n: int) -> pd.DataFrame:
        return full[name].iloc[order[name][:n]].reset_index(drop=True)

    sample = {"training": take("training", n_training), "holdout": take("holdout", n_compare),
              "synthetic": take("synthetic", n_compare)}
    timings["prepare"] = time.perf_counter() - started

    report_parts: dict[str, Any] = {}
    plots = PlotData()
    bins = codes = association = None
    if wanted & {"accuracy", "similarity", "distances"}:
        clock = time.perf_counter()
        bins, codes = bin_tables(columns, kinds, sample)
        timings["binning"] = time.perf_counter() - clock
    uni = uni_max = None
    if wanted & {"accuracy", "similarity"}:
        clock = time.perf_counter()
        result = compute_accuracy(bins, codes, rngs[3], trivariate="accuracy" in wanted)
        association = result.association
        uni, uni_max = result.univariate, result.univariate_max
        if "accuracy" in wanted:
            report_parts["accuracy"] = result.section
            plots.univariate, plots.bivariate = result.univariate_plots, result.bivariate_plots
        timings["accuracy"] = time.perf_counter() - clock
    if "similarity" in wanted:
        clock = time.perf_counter()
        report_parts["similarity"] = compute_similarity(columns, kinds, sample, bins, codes, association, model_seed)
        timings["similarity"] = time.perf_counter() - clock
    if "distances" in wanted:
        clock = time.perf_counter()
        training_association = association["training"] if association else _association(codes["training"], bins)
        equal = {name: sample[name].iloc[:n_distance] if name != "training" else take("training", n_distance)
                 for name in sample}
        report_parts["distances"], plots.distances = compute_distances(
            columns, kinds, equal, training_association, rngs[4]
        )
        timings["distances"] = time.perf_counter() - clock
    if "utility" in wanted:
        clock = time.perf_counter()
        report_parts["utility"] = compute_utility(columns, kinds, target, sample, model_seed)
        timings["utility"] = time.perf_counter() - clock
    if "diversity" in wanted:
        clock = time.perf_counter()
        report_parts["diversity"] = _diversity(columns, kinds, sample)
        timings["diversity"] = time.perf_counter() - clock
    if rules is not None:
        clock = time.perf_counter()
        report_parts["rule_adherence"] = _rule_adherence(rules, synthetic, training)
        timings["rule_adherence"] = time.perf_counter() - clock

    column_reports = [
        ColumnReport(
            name=c,
            kind=kinds[c].value,
            accuracy=uni[j] if uni is not None and "accuracy" in wanted else None,
            accuracy_max=uni_max[j] if uni_max is not None and "accuracy" in wanted else None,
            missing_training=float(sample["training"][c].isna().mean()),
            missing_holdout=float(sample["holdout"][c].isna().mean()),
            missing_synthetic=float(sample["synthetic"][c].isna().mean()),
        )
        for j, c in enumerate(columns)
    ]
    metadata = Metadata(
        rows_training=len(training),
        rows_holdout=len(holdout),
        rows_synthetic=len(synthetic),
        rows_used_training=n_training,
        rows_used_comparison=n_compare,
        rows_used_distances=n_distance if "distances" in wanted else None,
        columns=columns,
        excluded_columns=excluded,
        target=target,
        max_rows=max_rows,
        max_distance_rows=max_distance_rows,
        random_state=random_state,
        metrics=[m for m in METRICS if m in wanted],
        seconds=time.perf_counter() - started,
        seconds_by_section={k: round(v, 3) for k, v in timings.items()},
        version=__version__,
    )
    return QualityReport(columns=column_reports, metadata=metadata, plots=plots, **report_parts)


def _check_columns(tables: dict[str, pd.DataFrame]) -> None:
    reference = [str(c) for c in tables["training"].columns]
    problems = []
    for name in ("holdout", "synthetic"):
        have = [str(c) for c in tables[name].columns]
        lacks = [c for c in reference if c not in have]
        extra = [c for c in have if c not in reference]
        if lacks:
            problems.append(f"{name} lacks {', '.join(map(repr, lacks))}")
        if extra:
            problems.append(f"{name} has extra column(s) {', '.join(map(repr, extra))}")
    if problems:
        raise InvalidDataError("training, holdout and synthetic must have the same columns: " + "; ".join(problems))


def _parse_metrics(metrics: Collection[str] | None, target: str | None) -> set[str]:
    if metrics is None:
        return {m for m in METRICS if m != "utility" or target is not None}
    if isinstance(metrics, str):
        metrics = [metrics]
    wanted = set(metrics)
    unknown = sorted(wanted - set(METRICS))
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise ConfigError(f"unknown metric section(s) {names}; choose from {', '.join(METRICS)}")
    if "utility" in wanted and target is None:
        raise ConfigError("the 'utility' section needs a target column: pass target=...")
    return wanted


def _association(training_codes: np.ndarray, bins: list) -> np.ndarray:
    n = len(bins)
    sizes = [b.size for b in bins]
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            joint = np.bincount(training_codes[:, i] * sizes[j] + training_codes[:, j], minlength=sizes[i] * sizes[j])
            out[i, j] = out[j, i] = cramers_v(joint.reshape(sizes[i], sizes[j]) / max(len(training_codes), 1))
    return out


def _entropy(values: np.ndarray) -> float:
    counts = pd.Series(values, dtype=object).value_counts(dropna=False).to_numpy(dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _diversity(columns: list[str], kinds: dict[str, ColumnKind], sample: dict[str, pd.DataFrame]) -> Diversity:
    entropy = {
        c: ColumnEntropy(**{name: _entropy(column_values(sample[name][c], kinds[c])) for name in sample})
        for c in columns
        if kinds[c] in _LABEL_KINDS
    }
    return Diversity(
        entropy=entropy,
        distinct_rows_training=distinct_share(sample["training"]),
        distinct_rows_holdout=distinct_share(sample["holdout"]),
        distinct_rows_synthetic=distinct_share(sample["synthetic"]),
    )


def _rule_adherence(rules: Any, synthetic: pd.DataFrame, training: pd.DataFrame) -> RuleAdherence:
    items: Iterable[Any] = [rules] if hasattr(rules, "adherence") else rules
    synthetic_entries: list[dict[str, Any]] = []
    training_entries: list[dict[str, Any]] = []
    for rule in items:
        if not hasattr(rule, "adherence"):
            raise ConfigError(f"rules: {type(rule).__name__} has no adherence(df) method")
        synthetic_entries.extend(dict(entry) for entry in rule.adherence(synthetic))
        training_entries.extend(dict(entry) for entry in rule.adherence(training))
    return RuleAdherence(synthetic=synthetic_entries, training=training_entries)
