"""Similarity: a discriminator's AUC, association-matrix difference, KS and chi-squared per column."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind
from synth_pipeline.profile import ColumnBins, column_values
from synth_pipeline.quality.features import model_features
from synth_pipeline.quality.report import Similarity

DISCRIMINATOR_ROWS = 10_000
DISCRIMINATOR_FOLDS = 3


def discriminator_auc(
    first: np.ndarray, second: np.ndarray, categorical: list[int], seed: int, *, n_jobs: int | None = 1
) -> float | None:
    """Mean cross-validated ROC AUC of LightGBM telling ``second`` rows from ``first`` rows.

    On one thread by default: at these sizes LightGBM's threads cost more than they save (on two cores with
    ``OMP_WAIT_POLICY=PASSIVE``, 3-7x the CPU time), and column-wise histograms give the same trees on any
    number of threads.
    """
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    n = min(len(first), len(second), DISCRIMINATOR_ROWS)
    if n < 2 * DISCRIMINATOR_FOLDS:
        return None
    x = np.vstack([first[rng.permutation(len(first))[:n]], second[rng.permutation(len(second))[:n]]])
    y = np.repeat([0, 1], n)
    folds = StratifiedKFold(n_splits=DISCRIMINATOR_FOLDS, shuffle=True, random_state=seed)
    scores = []
    for fit_rows, score_rows in folds.split(x, y):
        model = lgb.LGBMClassifier(
            n_estimators=100, learning_rate=0.1, num_leaves=31, min_child_samples=20, subsample_freq=0,
            random_state=seed, deterministic=True, force_col_wise=True, verbose=-1, n_jobs=n_jobs,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x[fit_rows], y[fit_rows], categorical_feature=categorical or "auto")
            scores.append(roc_auc_score(y[score_rows], model.predict_proba(x[score_rows])[:, 1]))
    return float(np.mean(scores))


def _ks(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import ks_2samp

    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return None
    return float(ks_2samp(a, b).statistic)


def _chi2(a: np.ndarray, b: np.ndarray, size: int) -> tuple[float, float]:
    from scipy.stats import chi2_contingency

    table = np.vstack([np.bincount(a, minlength=size), np.bincount(b, minlength=size)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def compute_similarity(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    tables: dict[str, pd.DataFrame],
    bins: list[ColumnBins],
    codes: dict[str, np.ndarray],
    association: dict[str, np.ndarray],
    seed: int,
) -> Similarity:
    """The similarity section for ``tables`` (training, holdout, synthetic samples) and their bin codes."""
    features, categorical = model_features(
        columns, kinds, [tables["training"], tables["synthetic"], tables["holdout"]]
    )
    upper = np.triu_indices(len(columns), k=1)

    def difference(other: str) -> float | None:
        if not len(upper[0]):
            return None
        return float(np.abs(association["training"] - association[other])[upper].mean())

    # the two discriminators side by side (LightGBM leaves the GIL while it fits)
    with ThreadPoolExecutor(2) as pool:
        synthetic_auc, holdout_auc = pool.map(
            lambda other: discriminator_auc(features[0], features[other], categorical, seed), (1, 2)
        )
    return Similarity(
        discriminator_auc_training_synthetic=synthetic_auc,
        discriminator_auc_training_holdout=holdout_auc,
        correlation_difference=difference("synthetic"),
        correlation_difference_holdout=difference("holdout"),
        **_two_sample_statistics(kinds, tables, bins, codes),
    )


def _two_sample_statistics(
    kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame], bins: list[ColumnBins], codes: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """KS per number or datetime column, chi-squared per label column (``kinds`` in column order), vs training."""
    out: dict[str, dict[str, float]] = {
        key: {} for key in ("ks_statistic", "ks_statistic_holdout", "chi2_statistic", "chi2_pvalue",
                            "chi2_statistic_holdout")
    }
    for j, (column, kind) in enumerate(kinds.items()):
        if kind in ORDERED_KINDS:
            t, s, h = (column_values(tables[name][column], kind) for name in ("training", "synthetic", "holdout"))
            for key, other in (("ks_statistic", s), ("ks_statistic_holdout", h)):
                if (value := _ks(t, other)) is not None:
                    out[key][column] = value
        else:
            size = bins[j].size
            statistic, pvalue = _chi2(codes["training"][:, j], codes["synthetic"][:, j], size)
            out["chi2_statistic"][column], out["chi2_pvalue"][column] = statistic, pvalue
            out["chi2_statistic_holdout"][column] = _chi2(codes["training"][:, j], codes["holdout"][:, j], size)[0]
    return out
