"""Binned uni-, bi- and trivariate accuracy (1 - total variation distance) with the holdout ceiling.

Everything runs on the integer codes of :mod:`synth_pipeline.quality.binning`: a joint histogram of a
pair or triple is one ``np.bincount`` of the combined codes, so census-sized tables take well under a
second.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb

import numpy as np

from synth_pipeline.profile import ColumnBins
from synth_pipeline.quality.report import (
    Accuracy,
    BivariatePlot,
    CorrelationMatrices,
    PairAccuracy,
    UnivariatePlot,
)

MAX_TRIPLES = 1000
N_PLOTTED_PAIRS = 6


def _frequencies(codes: np.ndarray, columns: tuple[int, ...], sizes: list[int]) -> np.ndarray:
    key = codes[:, columns[0]].copy()
    total = sizes[columns[0]]
    for j in columns[1:]:
        key *= sizes[j]
        key += codes[:, j]
        total *= sizes[j]
    return np.bincount(key, minlength=total) / max(len(codes), 1)


def tvd_accuracy(p: np.ndarray, q: np.ndarray) -> float:
    """1 - total variation distance between two frequency vectors."""
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def sample_triples(n_columns: int, rng: np.random.Generator, max_triples: int = MAX_TRIPLES) -> list[tuple[int, ...]]:
    """All column triples, or a seeded sample of ``max_triples`` distinct ones when there are more."""
    if comb(n_columns, 3) <= max_triples:
        return list(itertools.combinations(range(n_columns), 3))
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < max_triples:
        chosen.add(tuple(sorted(int(i) for i in rng.choice(n_columns, size=3, replace=False))))
    return sorted(chosen)


def cramers_v(joint: np.ndarray) -> float:
    """Cramér's V of a joint frequency matrix (empty rows and columns ignored)."""
    joint = joint[joint.sum(axis=1) > 0][:, joint.sum(axis=0) > 0]
    r, c = joint.shape
    if min(r, c) < 2:
        return 0.0
    rows = joint.sum(axis=1, keepdims=True)
    cols = joint.sum(axis=0, keepdims=True)
    phi2 = float((joint**2 / (rows @ cols)).sum() - 1.0)
    return float(np.sqrt(max(phi2, 0.0) / (min(r, c) - 1)))


def association(codes: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Cramér's V of every pair of binned columns of one table, as a symmetric matrix with a unit diagonal."""
    n = len(sizes)
    out = np.eye(n)
    for i, j in itertools.combinations(range(n), 2):
        out[i, j] = out[j, i] = cramers_v(_frequencies(codes, (i, j), sizes).reshape(sizes[i], sizes[j]))
    return out


def correlation_matrices(columns: list[str], association_of: dict[str, np.ndarray]) -> CorrelationMatrices:
    """The training and synthetic association matrices and their difference, rounded for the report."""
    training, synthetic = association_of["training"], association_of["synthetic"]
    return CorrelationMatrices(
        columns=columns,
        training=training.round(4).tolist(),
        synthetic=synthetic.round(4).tolist(),
        difference=(synthetic - training).round(4).tolist(),
    )


def column_pair_means(columns: list[str], pairs: list[PairAccuracy]) -> dict[str, tuple[float, float]]:
    """Per column, the mean accuracy and mean ceiling of the pairs it is part of (columns in no pair left out)."""
    sums = {c: [0.0, 0.0, 0] for c in columns}
    for pair in pairs:
        for c in pair.columns:
            entry = sums[c]
            entry[0] += pair.accuracy
            entry[1] += pair.accuracy_max
            entry[2] += 1
    return {c: (total / n, ceiling / n) for c, (total, ceiling, n) in sums.items() if n}


@dataclass
class AccuracyResult:
    """The accuracy section plus the pieces other sections and the HTML reuse."""

    section: Accuracy
    univariate: list[float]
    univariate_max: list[float]
    association: dict[str, np.ndarray]  # table -> (c, c) Cramér's V on the binned columns
    univariate_plots: list[UnivariatePlot]
    bivariate_plots: list[BivariatePlot]


_TABLES = ("training", "synthetic", "holdout")


def compute_accuracy(
    bins: list[ColumnBins],
    codes: dict[str, np.ndarray],
    rng: np.random.Generator,
    *,
    trivariate: bool = True,
) -> AccuracyResult:
    """Accuracy of ``codes["synthetic"]`` and ``codes["holdout"]`` against ``codes["training"]``."""
    sizes = [b.size for b in bins]
    uni, uni_max, uni_plots = _univariate(bins, codes, sizes)
    pairs, association_of, joints = _bivariate(bins, codes, sizes)
    triples = sample_triples(len(bins), rng) if trivariate else []
    training, synthetic, holdout = (codes[name] for name in _TABLES)
    tri, tri_max = [], []
    for t in triples:
        reference = _frequencies(training, t, sizes)
        tri.append(tvd_accuracy(reference, _frequencies(synthetic, t, sizes)))
        tri_max.append(tvd_accuracy(reference, _frequencies(holdout, t, sizes)))

    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    means = {"univariate": mean(uni), "bivariate": mean([p.accuracy for p in pairs]), "trivariate": mean(tri)}
    ceilings = {"univariate": mean(uni_max), "bivariate": mean([p.accuracy_max for p in pairs]),
                "trivariate": mean(tri_max)}
    section = Accuracy(
        overall=float(np.mean([m for m in means.values() if m is not None])),
        overall_max=float(np.mean([m for m in ceilings.values() if m is not None])),
        **means,
        **{f"{name}_max": value for name, value in ceilings.items()},
        n_pairs=len(pairs),
        n_triples=len(triples),
        pairs=[pairs[k] for k in sorted(range(len(pairs)), key=lambda k: (pairs[k].accuracy, pairs[k].columns))],
    )
    plots = _bivariate_plots(bins, pairs, joints, sizes)
    return AccuracyResult(section, uni, uni_max, association_of, uni_plots, plots)


def _univariate(
    bins: list[ColumnBins], codes: dict[str, np.ndarray], sizes: list[int]
) -> tuple[list[float], list[float], list[UnivariatePlot]]:
    uni, uni_max, plots = [], [], []
    for j, column_bins in enumerate(bins):
        p, q, h = (_frequencies(codes[name], (j,), sizes) for name in _TABLES)
        uni.append(tvd_accuracy(p, q))
        uni_max.append(tvd_accuracy(p, h))
        used = (p + q + h) > 0
        plots.append(
            UnivariatePlot(
                column=column_bins.name,
                labels=[label for label, keep in zip(column_bins.labels, used, strict=True) if keep],
                training=p[used].round(6).tolist(),
                synthetic=q[used].round(6).tolist(),
                holdout=h[used].round(6).tolist(),
            )
        )
    return uni, uni_max, plots


def _bivariate(
    bins: list[ColumnBins], codes: dict[str, np.ndarray], sizes: list[int]
) -> tuple[list[PairAccuracy], dict[str, np.ndarray], dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """Accuracy of every pair, the association matrices, and the training/synthetic joints (for plots)."""
    n = len(bins)
    association_of = {name: np.eye(n) for name in _TABLES}
    pairs: list[PairAccuracy] = []
    joints: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for i, j in itertools.combinations(range(n), 2):
        frequencies = {name: _frequencies(codes[name], (i, j), sizes) for name in _TABLES}
        p, q, h = frequencies.values()
        pairs.append(PairAccuracy(columns=(bins[i].name, bins[j].name), accuracy=tvd_accuracy(p, q),
                                  accuracy_max=tvd_accuracy(p, h)))
        for name, freq in frequencies.items():
            association_of[name][i, j] = association_of[name][j, i] = cramers_v(freq.reshape(sizes[i], sizes[j]))
        joints[(i, j)] = (p, q)
    return pairs, association_of, joints


def _bivariate_plots(
    bins: list[ColumnBins],
    pairs: list[PairAccuracy],
    joints: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
    sizes: list[int],
) -> list[BivariatePlot]:
    """Heatmap data of the pairs furthest below their ceiling."""
    order = sorted(range(len(pairs)), key=lambda k: (pairs[k].accuracy - pairs[k].accuracy_max, pairs[k].columns))
    index_of = {b.name: k for k, b in enumerate(bins)}
    plots = []
    for k in order[:N_PLOTTED_PAIRS]:
        pair = pairs[k]
        i, j = index_of[pair.columns[0]], index_of[pair.columns[1]]
        p, q = joints[(i, j)]
        p, q = p.reshape(sizes[i], sizes[j]), q.reshape(sizes[i], sizes[j])
        rows = (p + q).sum(axis=1) > 0
        cols = (p + q).sum(axis=0) > 0
        plots.append(
            BivariatePlot(
                columns=pair.columns,
                accuracy=pair.accuracy,
                accuracy_max=pair.accuracy_max,
                row_labels=[label for label, keep in zip(bins[i].labels, rows, strict=True) if keep],
                column_labels=[label for label, keep in zip(bins[j].labels, cols, strict=True) if keep],
                training=p[rows][:, cols].round(6).tolist(),
                synthetic=q[rows][:, cols].round(6).tolist(),
            )
        )
    return plots
