"""A closeness guard at sampling time: no generated row sits closer to a training row than fresh rows do.

A model that has seen a row makes rows near it more often than the population does, and the QA's DCR share
(the share of synthetic rows closer to a training row than to a holdout row) reads that. Measured on the
benchmark tables (``benchmarks/closeness_guard.py``), the model's rows are not too close in absolute terms
(they sit as far from the training rows as fresh rows, or farther): matching that distribution *raised* the
DCR share. What gives them away is the rows that sit on top of one training row *relative to the spacing of
the training rows there*. The guard, fitted on the training rows alone (never the holdout):

* encodes the training rows (at most ``MAX_REFERENCE_ROWS``; above, it is off: the search grows with the
  reference, and tables that large already read a DCR share near 0.5) in the QA's rank view
  (:func:`synth_pipeline.quality.privacy.encode_tables`: numbers and datetimes as their rank among 101
  training quantiles with a 0/1 flag where training has missing values, labels one-hot over sqrt(2) or
  random unit vectors beyond ``MAX_ONE_HOT`` labels);
* a row's *closeness ratio* is its distance to the nearest training row over that to the second nearest
  (small: on top of one row; for rows from the population its distribution does not depend on the density);
* ``F``: the ratios of fresh rows, from training rows left out of the reference one at a time (a sample of
  ``FRESH_ROWS`` of them), kept as quantiles;
* the same on every column subset the QA's DCR share looks at (:func:`~synth_pipeline.quality.privacy.
  column_groups`: all columns, the correlated groups of the training association, random groups);
* at sampling, a row whose ratio is below ``F``'s ``share`` quantile on any subset (argn's setting
  ``closeness_guard``; 0, the default, is off) is redrawn, so the row count is kept.

Sampling stays a pure function of (model, seed): there is no extra random draw, and the distances are exact
(float64 on candidates found in float32, :func:`nearest_k`) whatever the thread count or engine. The guard
uses the training rows, so it is never fitted under a privacy budget. Exact copies of training rows have a
ratio of 0 (unless that row occurs twice), so they are redrawn too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind
from synth_pipeline.profile import column_values
from synth_pipeline.quality.accuracy import association
from synth_pipeline.quality.binning import bin_tables
from synth_pipeline.quality.features import label_strings, label_table, quantile_ranks, rank_quantiles
from synth_pipeline.quality.privacy import column_groups, distinct_rows

MAX_REFERENCE_ROWS = 25_000
FRESH_ROWS = 5_000
MAX_ROUNDS = 20
_LEVELS = np.linspace(0.0, 1.0, 1001)
_BATCH_ELEMENTS = 1 << 23
_FLOAT32_ERROR = 4e-6  # relative error bound of a float32 squared distance (generous), as in quality.privacy


def nearest_k(query: np.ndarray, reference: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact distances of every query row to its ``k`` nearest reference rows, ascending, and their indices
    (rows, k each; among equal distances the lower index first).

    A float32 matrix product per batch finds the candidates (every row within its error bound of the
    k-th smallest), whose distances are then recomputed exactly in float64: the result does not depend on
    how the product was rounded (thread count, BLAS), so sampling stays a pure function of the seed.
    """
    k = min(k, len(reference))
    centre = reference.mean(axis=0)
    centred = reference - centre
    ref_norms = (centred**2).sum(axis=1)
    ref_aug = np.ascontiguousarray(np.hstack([-2.0 * centred, np.ones((len(reference), 1)), ref_norms[:, None]]).T,
                                   dtype=np.float32)
    largest = float(ref_norms.max())
    batch = max(16, min(4096, _BATCH_ELEMENTS // max(len(reference), 1)))
    out, found = np.empty((len(query), k)), np.empty((len(query), k), dtype=np.int64)
    for start in range(0, len(query), batch):
        q = query[start : start + batch]
        qc = q - centre
        q_norms = (qc**2).sum(axis=1)
        squared = np.hstack([qc, q_norms[:, None], np.ones((len(q), 1))]).astype(np.float32) @ ref_aug
        kth = np.partition(squared, k - 1, axis=1)[:, k - 1]
        band = (_FLOAT32_ERROR * (q_norms + largest + 1.0)).astype(np.float32)
        rows, cols = np.nonzero(squared <= (kth + band)[:, None])
        width = int(np.bincount(rows, minlength=len(q)).max())
        exact, index = np.full((len(q), width), np.inf), np.zeros((len(q), width), dtype=np.int64)
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
        exact[rows, slot] = ((q[rows] - reference[cols]) ** 2).sum(axis=1)
        index[rows, slot] = cols
        best = np.argsort(exact, axis=1, kind="stable")[:, :k]
        out[start : start + len(q)] = np.sqrt(np.take_along_axis(exact, best, axis=1))
        found[start : start + len(q)] = np.take_along_axis(index, best, axis=1)
    return out, found


def nearest_rows(query: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Exact distances of every query row to its ``k`` nearest reference rows, counting repeated rows once each.

    Searched on distinct rows (a column subset repeats rows a lot: thousands of tied candidates otherwise),
    then each distinct neighbour's distance is repeated as often as its row occurs.
    """
    distinct_query, back = distinct_rows(query)
    distinct_reference, inverse = distinct_rows(reference)
    counts = np.bincount(inverse)
    distances, found = nearest_k(distinct_query, distinct_reference, k)
    ends = np.cumsum(counts[found], axis=1)  # the multiset of distances: position j is the first end above j
    at = np.stack([(ends <= j).sum(axis=1) for j in range(k)], axis=1)
    return np.take_along_axis(distances, at, axis=1)[back]


def closeness_ratio(distances: np.ndarray) -> np.ndarray:
    """Nearest over second-nearest distance: how much closer a row sits to one training row than the
    training rows' spacing there (near 0: on top of one row; a fresh row's ratio does not depend on the density)."""
    return (distances[:, 0] + 1e-8) / (distances[:, 1] + 1e-8)


@dataclass
class ClosenessGuard:
    """The encoded training rows and the quantiles of fresh rows' closeness ratios."""

    columns: list[str]
    kinds: dict[str, str]
    scales: list[dict[str, Any]]  # per column: {"quantiles", "missing"} or {"labels", "table"}
    reference: np.ndarray
    groups: list[np.ndarray]  # the dimensions of each column subset measured (the first: all of them)
    fresh: np.ndarray  # per subset, the quantiles of F at _LEVELS (subsets, levels)

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        """``rows`` in the rank view, on the training scale."""
        parts = [_encode_column(column_values(rows[c], ColumnKind(self.kinds[c])), scale)
                 for c, scale in zip(self.columns, self.scales, strict=True)]
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float64)

    def ratios(self, rows: pd.DataFrame) -> np.ndarray:
        """Each row's closeness ratio (nearest training row over second nearest) on every subset (subsets, rows)."""
        x = self.encode(rows)
        return np.array([closeness_ratio(nearest_rows(np.ascontiguousarray(x[:, d]),
                                                      np.ascontiguousarray(self.reference[:, d]), 2))
                         for d in self.groups])

    def passes(self, rows: pd.DataFrame, share: float) -> np.ndarray:
        """Rows whose ratio is at least the ``share`` quantile of fresh rows' on every subset."""
        thresholds = np.array([np.interp(share, _LEVELS, f) for f in self.fresh])
        return (self.ratios(rows) >= thresholds[:, None]).all(axis=0)

    def sample(self, draw: Callable[[int], pd.DataFrame], n_rows: int, share: float) -> pd.DataFrame:
        """``n_rows`` rows of ``draw`` whose ratio is at least the ``share`` quantile of F, in the order drawn.

        Rows are redrawn until enough pass; after ``MAX_ROUNDS`` rounds the last are taken as drawn, so the
        count is always kept (a model whose rows nearly all sit on training rows).
        """
        passed: list[pd.DataFrame] = []
        have, wanted, rate = 0, n_rows, 1.0 - share
        for _ in range(MAX_ROUNDS):
            rows = draw(wanted)
            mask = self.passes(rows, share)
            passed.append(rows[mask])
            have += int(mask.sum())
            if have >= n_rows:
                break
            rate = max(float(mask.mean()), 0.05)
            wanted = max(64, int(np.ceil((n_rows - have) / rate * 1.1)))
        else:
            passed.append(draw(n_rows - have))
        return pd.concat(passed, ignore_index=True).iloc[:n_rows].reset_index(drop=True)

    def to_state(self) -> dict[str, Any]:
        return {"columns": self.columns, "kinds": self.kinds, "scales": self.scales, "reference": self.reference,
                "groups": self.groups, "fresh": self.fresh}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ClosenessGuard:
        scales = [{k: (np.asarray(v) if k in ("quantiles", "table") else v) for k, v in s.items()}
                  for s in state["scales"]]
        return cls(list(state["columns"]), dict(state["kinds"]), scales, np.asarray(state["reference"]),
                   [np.asarray(d) for d in state["groups"]], np.asarray(state["fresh"]))


def _fit_scale(x: np.ndarray, kind: ColumnKind, rng: np.random.Generator) -> dict[str, Any]:
    if kind in ORDERED_KINDS:
        return {"quantiles": rank_quantiles(x), "missing": bool(np.isnan(x).any())}
    labels = sorted(set(label_strings(x).tolist()))
    return {"labels": labels, "table": label_table(len(labels), rng)}


def _encode_column(x: np.ndarray, scale: dict[str, Any]) -> np.ndarray:
    """One column in the rank view (as :func:`synth_pipeline.quality.privacy.encode_tables` encodes it)."""
    if "quantiles" in scale:
        rank = quantile_ranks(x, scale["quantiles"])
        return np.column_stack([rank, np.isnan(x).astype(np.float64)]) if scale["missing"] else rank[:, None]
    codes = pd.Index(scale["labels"]).get_indexer(label_strings(x))
    table = np.vstack([scale["table"], np.zeros((1, scale["table"].shape[1]))])  # unseen label: the zero row
    return table[codes]  # -1 (unseen) picks the zero row


def fit_guard(training: pd.DataFrame, kinds: dict[str, ColumnKind], rng: np.random.Generator) -> ClosenessGuard | None:
    """The guard of a model of ``training`` (every column is measured); None above the row cap or below 3 rows."""
    if len(training) > MAX_REFERENCE_ROWS or len(training) < 3:
        return None
    columns = list(training.columns)
    scales = [_fit_scale(column_values(training[c], kinds[c]), kinds[c], rng) for c in columns]
    reference = np.hstack([_encode_column(column_values(training[c], kinds[c]), scale)
                           for c, scale in zip(columns, scales, strict=True)])
    widths = np.cumsum([0] + [_width(scale) for scale in scales])
    bins, codes = bin_tables(columns, kinds, {"training": training})
    subsets = column_groups(columns, association(codes["training"], [b.size for b in bins]), rng)
    groups = [np.concatenate([np.arange(widths[i], widths[i + 1]) for i in members]) for _, members in subsets]
    left_out = np.sort(rng.permutation(len(training))[:FRESH_ROWS])
    fresh = []
    for d in groups:  # each left-out row's three nearest: itself (at 0) first, then the two a fresh row would see
        ref = np.ascontiguousarray(reference[:, d])
        fresh.append(np.quantile(closeness_ratio(nearest_rows(ref[left_out], ref, 3)[:, 1:]), _LEVELS))
    return ClosenessGuard(columns, {c: kinds[c].value for c in columns}, scales, reference, groups, np.array(fresh))


def _width(scale: dict[str, Any]) -> int:
    if "quantiles" in scale:
        return 2 if scale["missing"] else 1
    return int(scale["table"].shape[1])
