"""``evaluate``: the holdout-based quality and privacy report of a synthetic table."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import LABEL_KINDS, UNTABULATED_KINDS, ColumnKind, did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.profile import column_values
from synth_pipeline.quality.accuracy import association, column_pair_means, compute_accuracy, correlation_matrices
from synth_pipeline.quality.attacks import MIA_ROWS, compute_attacks
from synth_pipeline.quality.binning import bin_tables
from synth_pipeline.quality.privacy import compute_distances, distinct_share
from synth_pipeline.quality.report import (
    ColumnEntropy,
    ColumnNotLearned,
    ColumnReport,
    Diversity,
    Metadata,
    PlotData,
    QualityReport,
    RuleAdherence,
)
from synth_pipeline.quality.similarity import compute_similarity
from synth_pipeline.quality.text import TextColumnQuality, compute_text_quality
from synth_pipeline.quality.utility import compute_utility
from synth_pipeline.schema import Schema, apply_schema, check_table, infer_schema
from synth_pipeline.version import __version__

# Distances compare every synthetic row with every training and holdout row: 25,000 rows per table keep
# that to seconds on a laptop and the DCR share's standard error near 0.3 pp.
DEFAULT_MAX_DISTANCE_ROWS = 25_000
METRICS = ("accuracy", "similarity", "distances", "attacks", "utility", "diversity", "text")


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
    sensitive_columns: list[str] | None = None,
) -> QualityReport:
    """Measure how faithful and how private ``synthetic`` is, against ``training`` and ``holdout``.

    Every metric compares synthetic with training, and holdout with training as the reference a fresh
    real sample reaches. ``schema`` (the model's, with the config's column-kind overrides) decides how
    every column is read, binned and measured; without it the kinds are inferred from ``training``.
    Tables are sampled to at most ``max_rows`` rows; holdout and synthetic are compared on equal-sized
    samples, the distances on equal-sized samples of all three of at most ``max_distance_rows`` rows
    (search grows with its square). Id columns are left out. ``metrics`` picks sections (the others are None).
    ``utility`` needs ``target``. ``rules``: objects (or one object) with ``adherence(df) -> list[dict]``;
    their reports fill ``rule_adherence``. ``sensitive_columns``: what attribute inference guesses. Deterministic.

    >>> report = evaluate(training, holdout, synthetic, target="income")  # doctest: +SKIP
    >>> report.accuracy.overall, report.distances.dcr_share  # doctest: +SKIP
    """
    started = time.perf_counter()
    tables = {"training": training, "holdout": holdout, "synthetic": synthetic}
    wanted = _check_inputs(tables, max_rows, max_distance_rows, metrics, target)
    schema = schema if schema is not None else infer_schema(training, what="training")
    columns, excluded = _evaluated_columns(schema, training, target)
    kinds = {c: schema.kind(c) for c in columns}
    seeds = np.random.SeedSequence(random_state).spawn(9)
    rngs = [np.random.default_rng(s) for s in seeds]
    model_seed = int(seeds[7].generate_state(1)[0] % (2**31 - 1))
    samples = _Samples.draw(tables, Schema([schema[c] for c in columns]), rngs[:3], max_rows, max_distance_rows)
    timings = {"prepare": time.perf_counter() - started}
    parts, plots, univariate = _sections(wanted, kinds, samples, rngs, model_seed, (target, sensitive_columns), timings)
    parts.update(_text_and_rules(wanted, tables, schema, seeds[5], max_rows, rules, timings))
    metadata = Metadata(
        **samples.row_counts(distances="distances" in wanted),
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
    pair_means = column_pair_means(columns, parts["accuracy"].pairs) if "accuracy" in parts else {}
    reports = _column_reports(kinds, samples.compare, univariate if "accuracy" in wanted else None, pair_means)
    parts["columns_not_learned"] = columns_not_learned(schema)
    return QualityReport(columns=reports, metadata=metadata, plots=plots, **parts)


def columns_not_learned(schema: Schema) -> list[ColumnNotLearned]:
    """The columns a generator with ``schema`` does not model (ids, columns with only rare values), and why.

    They are regenerated as fresh ids, so nobody should take them for faithful columns.
    """
    return [
        ColumnNotLearned(
            column=spec.name,
            kind=spec.kind.value,
            reason=f"{spec.reason or 'an id column'}; regenerated as fresh ids, not learned",
        )
        for spec in schema.columns
        if spec.kind is ColumnKind.ID
    ]


@contextmanager
def _timed(timings: dict[str, float], section: str) -> Iterator[None]:
    clock = time.perf_counter()
    yield
    timings[section] = time.perf_counter() - clock


@dataclass
class _Samples:
    """The tables in canonical dtypes, and the seeded samples every section measures."""

    full: dict[str, pd.DataFrame]
    order: dict[str, np.ndarray]
    n_training: int
    n_compare: int
    n_distance: int
    n_distance_cap: int

    @classmethod
    def draw(
        cls, tables: dict[str, pd.DataFrame], schema: Schema, rngs: list[np.random.Generator], max_rows: int,
        max_distance_rows: int,
    ) -> _Samples:
        full = {name: _canonical(table, schema, name) for name, table in tables.items()}
        n_training = min(len(full["training"]), max_rows)
        n_compare = min(len(full["holdout"]), len(full["synthetic"]), max_rows)
        # one generator per table, in the order training, holdout, synthetic
        order = {name: rng.permutation(len(table)) for rng, (name, table) in zip(rngs, full.items(), strict=True)}
        return cls(full, order, n_training, n_compare, min(n_training, n_compare, max_distance_rows), max_distance_rows)

    def row_counts(self, *, distances: bool) -> dict[str, int | None]:
        """The metadata's row counts: given, and used by each section."""
        return {
            **{f"rows_{name}": len(table) for name, table in self.full.items()},
            "rows_used_training": self.n_training,
            "rows_used_comparison": self.n_compare,
            "rows_used_distances": self.n_distance if distances else None,
        }

    def take(self, name: str, n: int) -> pd.DataFrame:
        """The first ``n`` rows of the seeded permutation of table ``name``."""
        return self.full[name].iloc[self.order[name][:n]].reset_index(drop=True)

    @cached_property
    def compare(self) -> dict[str, pd.DataFrame]:
        """Training sampled to ``max_rows``; holdout and synthetic to one equal size."""
        return {"training": self.take("training", self.n_training), "holdout": self.take("holdout", self.n_compare),
                "synthetic": self.take("synthetic", self.n_compare)}

    def attacked(self) -> dict[str, pd.DataFrame]:
        """The attacks' samples: members (training rows), holdout (its first rows the non-members), synthetic."""
        n_holdout = min(len(self.full["holdout"]), self.n_distance_cap)
        n_members = min(self.n_training, n_holdout, MIA_ROWS)
        return {"members": self.take("training", n_members), "holdout": self.take("holdout", n_holdout),
                "synthetic": self.take("synthetic", min(len(self.full["synthetic"]), self.n_distance_cap))}

    def equal(self) -> dict[str, pd.DataFrame]:
        """All three tables sampled to one size, for the distances."""
        return {name: self.take(name, self.n_distance) for name in ("training", "holdout", "synthetic")}


def _canonical(table: pd.DataFrame, schema: Schema, name: str) -> pd.DataFrame:
    try:
        return apply_schema(table[schema.names], schema, what=name).reset_index(drop=True)
    except InvalidDataError as error:
        raise InvalidDataError(f"{name}: {error} (the kinds come from the training schema)") from None


def _sections(
    wanted: set[str],
    kinds: dict[str, ColumnKind],
    samples: _Samples,
    rngs: list[np.random.Generator],
    model_seed: int,
    columns_of_note: tuple[str | None, list[str] | None],
    timings: dict[str, float],
) -> tuple[dict[str, Any], PlotData, tuple[list[float], list[float]] | None]:
    """The wanted sections (by name), the plot data, and the univariate accuracy and ceiling per column.

    ``columns_of_note``: the target and the sensitive columns (None: the default rule).
    """
    columns, sample = list(kinds), samples.compare
    target, sensitive = columns_of_note
    parts: dict[str, Any] = {}
    plots = PlotData()
    bins = codes = result = None
    if wanted & {"accuracy", "similarity", "distances"}:
        with _timed(timings, "binning"):
            bins, codes = bin_tables(columns, kinds, sample)
    if wanted & {"accuracy", "similarity"}:
        with _timed(timings, "accuracy"):
            result = compute_accuracy(bins, codes, rngs[3], trivariate="accuracy" in wanted)
            if "accuracy" in wanted:
                parts["accuracy"] = result.section
                plots.univariate, plots.bivariate = result.univariate_plots, result.bivariate_plots
                plots.correlations = correlation_matrices(columns, result.association)
    if "similarity" in wanted:
        with _timed(timings, "similarity"):
            parts["similarity"] = compute_similarity(
                columns, kinds, sample, bins, codes, result.association, model_seed
            )
    if "distances" in wanted:
        with _timed(timings, "distances"):
            training_association = (
                result.association["training"] if result else association(codes["training"], [b.size for b in bins])
            )
            parts["distances"], plots.distances = compute_distances(
                columns, kinds, samples.equal(), training_association, rngs[4],
                identity_reference=samples.full["training"],
            )
    if "attacks" in wanted:
        with _timed(timings, "attacks"):
            parts["attacks"] = compute_attacks(
                columns, kinds, samples.attacked(), rngs[8], target=target, sensitive=sensitive
            )
    if "utility" in wanted:
        with _timed(timings, "utility"):
            parts["utility"] = compute_utility(columns, kinds, target, sample, model_seed)
    if "diversity" in wanted:
        with _timed(timings, "diversity"):
            parts["diversity"] = _diversity(kinds, sample)
    return parts, plots, None if result is None else (result.univariate, result.univariate_max)


def _column_reports(
    kinds: dict[str, ColumnKind],
    sample: dict[str, pd.DataFrame],
    univariate: tuple[list[float], list[float]] | None,
    pair_means: dict[str, tuple[float, float]],
) -> list[ColumnReport]:
    accuracy, ceiling = univariate if univariate is not None else (None, None)
    return [
        ColumnReport(
            name=c,
            kind=kind.value,
            accuracy=None if accuracy is None else accuracy[j],
            accuracy_max=None if ceiling is None else ceiling[j],
            bivariate_accuracy=pair_means[c][0] if c in pair_means else None,
            bivariate_accuracy_max=pair_means[c][1] if c in pair_means else None,
            missing_training=float(sample["training"][c].isna().mean()),
            missing_holdout=float(sample["holdout"][c].isna().mean()),
            missing_synthetic=float(sample["synthetic"][c].isna().mean()),
        )
        for j, (c, kind) in enumerate(kinds.items())
    ]


def _check_inputs(
    tables: dict[str, pd.DataFrame], max_rows: int, max_distance_rows: int, metrics: Collection[str] | None,
    target: str | None,
) -> set[str]:
    """Validate the tables and settings; return the wanted sections."""
    for name, table in tables.items():
        check_table(table, what=name)
    _check_columns(tables)
    if max_rows < 1:
        raise ConfigError(f"max_rows must be a positive number of rows, got {max_rows}")
    if max_distance_rows < 1:
        raise ConfigError(f"max_distance_rows must be a positive number of rows, got {max_distance_rows}")
    return _parse_metrics(metrics, target)


def _evaluated_columns(schema: Schema, training: pd.DataFrame, target: str | None) -> tuple[list[str], list[str]]:
    """The columns measured and the id columns left out, with the target checked against them."""
    missing = [c for c in schema.names if c not in training.columns]
    if missing:
        raise InvalidDataError(f"the schema names column(s) {', '.join(map(repr, missing))} the tables lack")
    excluded = schema.names_of(*UNTABULATED_KINDS)
    columns = [c for c in schema.names if c not in excluded]
    if target is not None:
        if target not in training.columns:
            have = ", ".join(map(str, training.columns))
            raise ConfigError(
                f"target {target!r} is not a column{did_you_mean(target, training.columns)}; the tables have: {have}"
            )
        if target in excluded:
            raise ConfigError(
                f"target {target!r} is {'a free-text' if schema.kind(target) is ColumnKind.TEXT else 'an id'} column; "
                "choose a column that can be predicted"
            )
    if not columns:
        raise InvalidDataError(
            f"nothing to evaluate: every column is an id or free-text column ({', '.join(excluded)})"
        )
    return columns, excluded


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


def _entropy(values: np.ndarray) -> float:
    counts = pd.Series(values, dtype=object).value_counts(dropna=False).to_numpy(dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _text_and_rules(
    wanted: set[str], tables: dict[str, pd.DataFrame], schema: Schema, seed: np.random.SeedSequence,
    max_rows: int, rules: Any, timings: dict[str, float],
) -> dict[str, Any]:
    """The free-text section (when wanted and there is free text) and the rule adherence (when rules are given)."""
    parts: dict[str, Any] = {}
    if "text" in wanted and schema.names_of(ColumnKind.TEXT):
        with _timed(timings, "text"):
            parts["text"] = _text_quality(tables, schema, seed, max_rows)
    if rules is not None:
        with _timed(timings, "rule_adherence"):
            parts["rule_adherence"] = _rule_adherence(rules, tables["synthetic"], tables["training"])
    return parts


def _text_quality(
    tables: dict[str, pd.DataFrame], schema: Schema, seed: np.random.SeedSequence, max_rows: int
) -> list[TextColumnQuality]:
    """The text section: the free-text columns on their own seeded samples (holdout and synthetic equal-sized)."""
    text_schema = Schema([c for c in schema.columns if c.kind is ColumnKind.TEXT])
    rngs = [np.random.default_rng(s) for s in seed.spawn(3)]
    samples = _Samples.draw(tables, text_schema, rngs, max_rows, max_rows)
    reasons = {c.name: c.reason for c in text_schema.columns}
    return compute_text_quality(reasons, *(samples.compare[name] for name in ("training", "holdout", "synthetic")))


def _diversity(kinds: dict[str, ColumnKind], sample: dict[str, pd.DataFrame]) -> Diversity:
    entropy = {
        c: ColumnEntropy(**{name: _entropy(column_values(sample[name][c], kind)) for name in sample})
        for c, kind in kinds.items()
        if kind in LABEL_KINDS
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
