"""Machine-learning utility: train on synthetic / test on real (TSTR) beside train on real (TRTR).

The same LightGBM settings are fitted on equal-sized samples of synthetic and of training and both are
scored on holdout: AUC and accuracy for a categorical or boolean target, R² and RMSE for a numeric one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from synth_pipeline.columns import LABEL_KINDS, ColumnKind
from synth_pipeline.profile import column_values
from synth_pipeline.quality.features import model_features
from synth_pipeline.quality.report import Utility

_PARAMS = {
    "n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "deterministic": True,
    "force_col_wise": True, "verbose": -1, "n_jobs": 1,  # one thread: faster at these sizes, the same trees
}


def compute_utility(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    target: str,
    tables: dict[str, pd.DataFrame],
    seed: int,
) -> Utility:
    """The utility section; ``tables`` holds training, synthetic and holdout samples with ``target``."""
    features = [c for c in columns if c != target]
    kind = kinds[target]
    # a whole-number column with two values (0/1) is a label, not a quantity
    binary_numbers = kind is ColumnKind.INTEGER and tables["training"][target].nunique() <= 2
    classification = kind in LABEL_KINDS or binary_numbers
    x, y, categorical = _training_sets(features, kinds, target, tables, seed)
    result = Utility(target=target, task="classification" if classification else "regression")
    if min(len(y["training"]), len(y["synthetic"])) < 10 or len(y["holdout"]) < 2 or not features:
        return result
    scores = _classification_scores if classification else _regression_scores
    return result.model_copy(update=scores(x, y, categorical, seed))


def _training_sets(
    features: list[str], kinds: dict[str, ColumnKind], target: str, tables: dict[str, pd.DataFrame], seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[int]]:
    """Feature matrices and targets per table: rows with a target, training and synthetic cut to equal size."""
    names = ("training", "synthetic", "holdout")
    frames = {}
    for name in names:
        table = tables[name]
        y = column_values(table[target], kinds[target])
        keep = ~pd.isna(y)
        frames[name] = (table.loc[keep], y[keep])
    n = min(len(frames["training"][0]), len(frames["synthetic"][0]))
    rng = np.random.default_rng(seed)
    for name in ("training", "synthetic"):
        table, y = frames[name]
        rows = np.sort(rng.permutation(len(table))[:n])
        frames[name] = (table.iloc[rows], y[rows])
    matrices, categorical = model_features(features, kinds, [frames[name][0] for name in names])
    return dict(zip(names, matrices, strict=True)), {name: frames[name][1] for name in names}, categorical


def _classification_scores(
    x: dict[str, np.ndarray], y: dict[str, np.ndarray], categorical: list[int], seed: int
) -> dict[str, float | None]:
    """TSTR and TRTR accuracy and ROC AUC on holdout (macro one-vs-rest for more than two classes)."""
    import lightgbm as lgb
    from sklearn.metrics import accuracy_score, roc_auc_score

    classes = np.array(sorted(set(map(str, np.concatenate([y["training"], y["holdout"]])))))
    y_holdout = np.searchsorted(classes, y["holdout"].astype(str))
    present = np.unique(y_holdout)
    scores: dict[str, float | None] = {}
    for prefix, fit_on in (("tstr", "synthetic"), ("trtr", "training")):
        labels = y[fit_on].astype(str)
        known = np.isin(labels, classes)
        fit_y = np.searchsorted(classes, labels[known])
        if len(np.unique(fit_y)) < 2:
            continue
        model = lgb.LGBMClassifier(random_state=seed, **_PARAMS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x[fit_on][known], fit_y, categorical_feature=categorical or "auto")
            proba_known = model.predict_proba(x["holdout"])
        proba = np.zeros((len(y_holdout), len(classes)))
        proba[:, model.classes_] = proba_known
        scores[f"{prefix}_accuracy"] = float(accuracy_score(y_holdout, proba.argmax(axis=1)))
        if len(present) == 2:
            positive = present[1]
            auc = roc_auc_score(y_holdout == positive, proba[:, positive])
        elif len(present) > 2:
            shares = proba[:, present] / np.clip(proba[:, present].sum(axis=1, keepdims=True), 1e-12, None)
            auc = roc_auc_score(y_holdout, shares, multi_class="ovr", average="macro", labels=present)
        else:
            auc = None
        scores[f"{prefix}_auc"] = None if auc is None else float(auc)
    return scores


def _regression_scores(
    x: dict[str, np.ndarray], y: dict[str, np.ndarray], categorical: list[int], seed: int
) -> dict[str, float | None]:
    """TSTR and TRTR R² and RMSE on holdout."""
    import lightgbm as lgb
    from sklearn.metrics import mean_squared_error, r2_score

    scores: dict[str, float | None] = {}
    truth = y["holdout"].astype(np.float64)
    for prefix, fit_on in (("tstr", "synthetic"), ("trtr", "training")):
        model = lgb.LGBMRegressor(random_state=seed, **_PARAMS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x[fit_on], y[fit_on].astype(np.float64), categorical_feature=categorical or "auto")
            predicted = model.predict(x["holdout"])
        scores[f"{prefix}_r2"] = float(r2_score(truth, predicted))
        scores[f"{prefix}_rmse"] = float(np.sqrt(mean_squared_error(truth, predicted)))
    return scores
