"""Attacks on a synthetic table: membership inference and attribute inference, with the holdout as non-members.

Both work on the distance encoding of :mod:`synth_pipeline.quality.privacy` (one way to encode), with the
number scale fitted on the pooled members and holdout rows, so neither side is favoured.

**Membership inference** (a DOMIAS-style distance ratio). Members: ``MIA_ROWS`` training rows at most;
non-members: as many holdout rows. The attacker holds the synthetic table and a reference sample of the
real population (the holdout), and scores a row by how much closer it sits to the synthetic rows than to
the reference rows: ``log(d_reference + eps) - log(d_synthetic + eps)``. A non-member's reference is the
holdout without that row; a member's is the holdout without one row drawn at random, so both sides are
compared with reference sets of the same size: for a perfect generator (a fresh real sample) members and
non-members are exchangeable and the AUC is 0.5 in expectation. Reported: the ROC AUC of the score
telling members from non-members, and its true-positive rate at 1% false positives.

**Attribute inference.** For each sensitive column the attacker knows every other column of a real row,
finds the synthetic rows closest on those columns (all ties kept) and guesses the value most of them
hold. Success on training rows minus success on holdout rows is the leak (``gain``); the base rate is a
guess of the most frequent training value. Numbers and datetimes are judged by decile (the guess must
land in the true value's decile of the pooled real values); missing is a value of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import LABEL_KINDS, ORDERED_KINDS, ColumnKind, did_you_mean
from synth_pipeline.errors import ConfigError
from synth_pipeline.profile import column_values
from synth_pipeline.quality.privacy import closest_distances, closest_rows, distinct_rows, encode_tables
from synth_pipeline.quality.report import Attacks, AttributeInference, Reidentification
from synth_pipeline.quality.singling_out import (
    MULTIVARIATE_COLUMNS,
    linkability,
    multivariate_singling_out,
    residual_risk,
    singling_out,
)

MIA_ROWS = 5_000
#: without a target: at most this many label columns, each with at most MAX_SENSITIVE_LABELS values
DEFAULT_SENSITIVE = 3
MAX_SENSITIVE_LABELS = 50
_EPS = 1e-6
_SCALE = ("members", "holdout")


def sensitive_columns(
    columns: list[str], kinds: dict[str, ColumnKind], training: pd.DataFrame, target: str | None,
    given: list[str] | None,
) -> tuple[list[str], str]:
    """The columns attribute inference attacks, and the rule that chose them (in words)."""
    if given is not None:
        for column in given:
            if column not in columns:
                raise ConfigError(
                    f"sensitive_columns: {column!r} is not an evaluated column{did_you_mean(column, columns)}; "
                    f"choose from {', '.join(columns)}"
                )
        return list(dict.fromkeys(given)), "configured (sensitive_columns)"
    if target is not None and target in columns:
        return [target], "the target column"
    labels = []
    for column in columns:
        if kinds[column] in LABEL_KINDS:
            counts = pd.Series(column_values(training[column], kinds[column]), dtype=object).value_counts(dropna=False)
            if 2 <= len(counts) <= MAX_SENSITIVE_LABELS:
                labels.append((counts.iloc[0] / counts.sum(), column))
    if labels:
        chosen = [c for _, c in sorted(labels, key=lambda item: item[0])[:DEFAULT_SENSITIVE]]
        return [c for c in columns if c in chosen], (
            f"no target: the {DEFAULT_SENSITIVE} label columns (at most {MAX_SENSITIVE_LABELS} values) whose most "
            "frequent value is rarest, i.e. the hardest to guess without the synthetic table"
        )
    ordered = [c for c in columns if kinds[c] in ORDERED_KINDS][:DEFAULT_SENSITIVE]
    return ordered, f"no target and no label column: the first {DEFAULT_SENSITIVE} number or datetime columns"


def compute_attacks(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    *,
    target: str | None = None,
    sensitive: list[str] | None = None,
) -> Attacks:
    """The attacks section for ``tables``: ``members`` (training rows), ``holdout`` and ``synthetic`` samples.

    The first ``len(members)`` holdout rows are the non-members (the tables come in seeded random order).
    """
    members, holdout, synthetic = tables["members"], tables["holdout"], tables["synthetic"]
    n = min(len(members), len(holdout))
    chosen, rule = sensitive_columns(columns, kinds, members, target, sensitive)
    encoded, dims = encode_tables(columns, kinds, tables, rng, scale=_SCALE)
    auc = tpr = auc_sd = None
    if n >= 2 and len(holdout) >= 2 and len(synthetic):
        auc, tpr = membership_inference(encoded["members"][:n], encoded["holdout"], encoded["synthetic"], n, rng)
        auc_sd = float(np.sqrt((2 * n + 1) / (12.0 * n * n)))  # Mann-Whitney under no leak, n vs n rows
    inferences = [
        attribute_inference(column, [d for c, d in zip(columns, dims, strict=True) if c != column], encoded,
                            {name: tables[name][column] for name in tables}, kinds[column], n)
        for column in chosen
        if len(columns) > 1 and n >= 1 and len(synthetic)
    ]
    worst = max(inferences, key=lambda a: a.gain, default=None)
    reidentification = None
    if n >= 1 and len(synthetic) and len(columns) > 1:
        reidentification = _reidentification(columns, kinds, tables, encoded, dims, n, rng)
    return Attacks(
        mia_auc=auc,
        mia_tpr_at_1pct_fpr=tpr,
        mia_auc_null_sd=auc_sd,
        mia_rows=n,
        mia_reference_rows=len(holdout),
        attribute_inference=inferences,
        attribute_inference_gain=None if worst is None else worst.gain,
        attribute_inference_gain_null_sd=None if worst is None else worst.gain_null_sd,
        sensitive_columns=chosen,
        sensitive_columns_rule=rule,
        reidentification=reidentification,
    )


def _reidentification(
    columns: list[str], kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame], encoded: dict[str, np.ndarray],
    dims: list[np.ndarray], n: int, rng: np.random.Generator,
) -> Reidentification:
    """Anonymeter's singling out and linkability (see :mod:`synth_pipeline.quality.singling_out`)."""
    single_training, single_holdout, n_predicates = singling_out(tables, kinds, n, rng)
    multi_training, multi_holdout, n_conjunctions = multivariate_singling_out(tables, kinds, n, rng)
    middle = (len(columns) + 1) // 2
    halves = (np.concatenate(dims[:middle]), np.concatenate(dims[middle:]))
    link_training, link_holdout = linkability(encoded, halves, n)
    return Reidentification(
        singling_out_rate_training=single_training,
        singling_out_rate_holdout=single_holdout,
        singling_out_risk=residual_risk(single_training, single_holdout),
        singling_out_predicates=n_predicates,
        singling_out_multivariate_rate_training=multi_training,
        singling_out_multivariate_rate_holdout=multi_holdout,
        singling_out_multivariate_risk=residual_risk(multi_training, multi_holdout),
        singling_out_multivariate_predicates=n_conjunctions,
        singling_out_multivariate_columns=min(MULTIVARIATE_COLUMNS, len(columns)),
        linkability_rate_training=link_training,
        linkability_rate_holdout=link_holdout,
        linkability_risk=residual_risk(link_training, link_holdout),
        linkability_columns=(columns[:middle], columns[middle:]),
    )


def membership_scores(
    members: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The attack's scores of the members and of the non-members (the first ``n`` holdout rows); higher: member."""
    queries = np.vstack([members, holdout[:n]])
    distinct, inverse = distinct_rows(queries)
    to_synthetic = closest_distances(distinct, distinct_rows(synthetic)[0], second=False)[0][inverse]
    # members: the holdout without one random row (the closest one is dropped with probability 1/len(holdout),
    # so the runner-up is needed only for those few rows)
    member_reference = closest_distances(members, holdout, second=False)[0]
    dropped = rng.random(len(members)) < 1.0 / len(holdout)
    if dropped.any():
        member_reference[dropped] = closest_distances(members[dropped], holdout, second=True)[1]
    # non-members: the holdout without the row itself (its closest, at distance 0, is itself or a duplicate)
    _, others = closest_distances(holdout[:n], holdout, second=True)
    reference = np.concatenate([member_reference, others])
    scores = np.log(reference + _EPS) - np.log(to_synthetic + _EPS)
    return scores[:n], scores[n:]


def membership_inference(
    members: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[float, float]:
    """ROC AUC of the distance-ratio attack, and its true-positive rate at 1% false positives."""
    from sklearn.metrics import roc_auc_score, roc_curve

    member_scores, other_scores = membership_scores(members, holdout, synthetic, n, rng)
    labels = np.r_[np.ones(len(member_scores)), np.zeros(len(other_scores))]
    scores = np.r_[member_scores, other_scores]
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(roc_auc_score(labels, scores)), float(np.interp(0.01, fpr, tpr))


def _value_codes(values: dict[str, pd.Series], kind: ColumnKind) -> dict[str, np.ndarray]:
    """Sensitive values as integer codes: labels as themselves, numbers by decile of the pooled real values."""
    raw = {name: column_values(v, kind) for name, v in values.items()}
    if kind in ORDERED_KINDS:
        pooled = np.concatenate([raw["members"], raw["holdout"]])
        observed = pooled[~np.isnan(pooled)]
        edges = np.unique(np.quantile(observed, np.linspace(0.1, 0.9, 9))) if len(observed) else np.empty(0)
        return {name: np.where(np.isnan(x), -1, np.searchsorted(edges, x, side="right")) for name, x in raw.items()}
    labels = {name: np.where(pd.isna(x), "\x00missing", x).astype(str) for name, x in raw.items()}
    vocabulary = np.unique(np.concatenate(list(labels.values())))
    return {name: np.searchsorted(vocabulary, x) for name, x in labels.items()}


def attribute_inference(
    column: str, known: list[np.ndarray], encoded: dict[str, np.ndarray], values: dict[str, pd.Series],
    kind: ColumnKind, n: int,
) -> AttributeInference:
    """Success of guessing ``column`` from the closest synthetic rows on the ``known`` dimensions."""
    from scipy import sparse

    dims = np.concatenate(known)
    codes = _value_codes(values, kind)
    offset = min(int(c.min()) for c in codes.values() if len(c))
    codes = {name: c - offset for name, c in codes.items()}
    n_codes = max(int(c.max()) for c in codes.values() if len(c)) + 1
    synthetic, inverse = distinct_rows(encoded["synthetic"][:, dims])
    counts = sparse.csr_matrix(
        (np.ones(len(inverse)), (inverse, codes["synthetic"])), shape=(len(synthetic), n_codes)
    )
    # members and non-members in one search (distinct rows only: a repeated row gets the same guess)
    queries, query_inverse = distinct_rows(np.vstack([encoded["members"][:n, dims], encoded["holdout"][:n, dims]]))
    rows, cols = closest_rows(queries, synthetic)
    ties = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(queries), len(synthetic)))
    guess = np.asarray((ties @ counts).argmax(axis=1)).ravel()[query_inverse]
    success = {name: float(np.mean(guess[k * n : (k + 1) * n] == codes[name][:n]))
               for k, name in enumerate(("members", "holdout"))}
    pooled = (success["members"] + success["holdout"]) / 2
    most_common = np.bincount(codes["members"][:n], minlength=n_codes).argmax()
    return AttributeInference(
        column=column,
        success_training=success["members"],
        success_holdout=success["holdout"],
        base_rate=float(np.mean(codes["holdout"][:n] == most_common)),
        gain=success["members"] - success["holdout"],
        gain_null_sd=float(np.sqrt(2 * pooled * (1 - pooled) / n)),
    )
