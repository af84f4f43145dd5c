"""Fitting under ``privacy``: the statistics' share of the budget, and what a generator decides from it.

A generator with ``privacy`` set makes one :class:`synth_pipeline.dp_statistics.PrivateStatistics`
per fit, with the statistics' share of the budget (:func:`.privacy_budget.split_budget`) split over
its model columns, and learns every statistic through it. What is treated as public, as the
configuration is: the column names and kinds (inferred or declared in ``column_kinds``; declare them
when the kinds themselves are sensitive), the number of training rows, and the format of id columns
(ids are regenerated, never learned). Rules are not used under privacy: inferring them reads the
rows, and enforcing declared ones learns repair values (most frequent values, mappings) from them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from synth_pipeline.columns import LABEL_KINDS, UNTABULATED_KINDS, ColumnKind
from synth_pipeline.dp_statistics import PrivateStatistics
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.privacy_budget import PrivacySettings, split_budget
from synth_pipeline.schema import Schema


def fit_statistics(
    privacy: PrivacySettings | None,
    random_state: int | None,
    training: pd.DataFrame,
    schema: Schema,
    *,
    trains_with_sgd: bool,
    extra: dict[str, float] | None = None,
) -> PrivateStatistics | None:
    """The fit's DP statistics (None without ``privacy``): one share per model column, and ``extra`` keys
    with their weights (a column weighs 1)."""
    if privacy is None:
        return None
    split = split_budget(privacy, len(training), trains_with_sgd=trains_with_sgd)
    # free text is regenerated under privacy (no generator has a DP text model): no share for it either
    columns = [c.name for c in schema.columns if c.kind not in UNTABULATED_KINDS] + list(extra or {})
    return PrivateStatistics(split.statistics_epsilon, split.statistics_delta, columns, random_state,
                             weights=dict(extra or {}))


def unlearnable_columns(training: pd.DataFrame, schema: Schema, statistics: PrivateStatistics) -> dict[str, str]:
    """The categorical columns none of whose values passes the noise (name -> why): regenerated as ids."""
    return {
        name: "no value is held by enough rows to pass the noise of privacy, so none may be generated"
        for name in schema.names_of(ColumnKind.CATEGORICAL)
        if not statistics.vocabulary(name, training[name]).counts
    }


def released_frequencies(schema: Schema, statistics: PrivateStatistics) -> dict[str, dict[str, float]]:
    """The label columns' value shares from their noisy counts, replacing the exact shares a model keeps."""
    return {name: statistics.released(name).shares() for name in schema.names_of(*LABEL_KINDS)}


def private_schema(schema: Schema, statistics: PrivateStatistics) -> Schema:
    """``schema`` as a private model keeps it: whether a column has missing cells from its DP vocabulary, and
    no inferred reason (those count values: "41 distinct labels"); regenerated columns keep theirs."""
    columns = []
    for column in schema.columns:
        if column.name in statistics.columns:
            vocabulary = statistics.released(column.name) if statistics.has_vocabulary(column.name) else None
            column = replace(column, has_missing=bool(vocabulary and vocabulary.has_missing),
                             reason=f"{column.kind.value} (the reason is withheld under privacy)")
        columns.append(column)
    return Schema(columns)


def check_no_rules(settings: Any, generator: str) -> None:
    """Refuse ``rules`` and ``infer_rules`` under ``privacy`` (see the module docstring), naming both settings."""
    if getattr(settings, "privacy", None) is None:
        return
    if settings.infer_rules:
        raise ConfigError(
            f"generator {generator!r}: infer_rules cannot be combined with privacy: the rules it would add are read "
            "off the training rows without differential privacy; set infer_rules: false (and declare no rules)"
        )
    if settings.rules:
        raise ConfigError(
            f"generator {generator!r}: rules cannot be combined with privacy: enforcing them learns repair values "
            "(most frequent values, mappings) from the training rows without differential privacy; remove rules "
            "or privacy"
        )
