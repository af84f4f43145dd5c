"""Distances to closest records (DCR), DCR share, NNDR and identical matches.

Encoding: every column contributes at most 1 to the squared distance between two rows. Numerics and
datetimes become their training quantile rank in [0, 1] (interpolated between 101 training quantiles,
clipped outside the training range); missing numbers sit at 0.5 and add a 0/1 missing flag. A column that
holds a single value in training (a constant column, or a one-row training table) has no ranks: there a
value is 0 when it is that value and 1 otherwise, so such a column cannot make every row tie.
Categoricals are one-hot vectors scaled by 1/sqrt(2), so two different labels are at distance 1 (with
more than ``features.MAX_ONE_HOT`` labels, random unit vectors in ``HASH_DIMS`` dimensions stand in for the
one-hot vectors: nearly the same geometry in bounded memory); missing is a label of its own.

Search: exact brute force in batches. One matrix product per batch gives squared distances directly
(the rows are augmented with their squared norms), the closest candidates are picked in float32 and their
distances recomputed exactly in float64, so identical rows are at distance 0 and ties are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.profile import column_values
from synth_pipeline.quality.dcr_views import VIEW_NAME, VIEW_ROWS, unit_row_tables
from synth_pipeline.quality.features import column_blocks, label_strings, label_table, quantile_ranks, rank_quantiles
from synth_pipeline.quality.report import DistanceHistogram, Distances, SubsetShare

N_GROUPS = 3
MIN_COLUMNS_FOR_SUBSETS = 6
REFERENCE_ROWS = 10_000
_BATCH_ELEMENTS = 1 << 24
_TIE = 1e-9
_FLOAT32_ERROR = 4e-6  # relative error bound of a float32 squared distance (generous)


def encode_tables(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    *,
    scale: tuple[str, ...] = ("training",),
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Encode every table on one scale; return the matrices and each column's dimension indices.

    The number scale (quantile ranks) is fitted on the pooled values of the ``scale`` tables.
    """
    stacked, dims = column_blocks(
        columns, kinds, tables,
        lambda values: _encode_number(values, np.concatenate([values[name] for name in scale])),
        lambda values: _encode_labels(values, rng),
    )
    return {name: np.ascontiguousarray(x, dtype=np.float64) for name, x in stacked.items()}, dims


def _encode_number(values: dict[str, np.ndarray], fitted_on: np.ndarray) -> dict[str, np.ndarray]:
    quantiles = rank_quantiles(fitted_on)
    any_missing = any(np.isnan(v).any() for v in values.values())
    out = {}
    for name, x in values.items():
        rank = quantile_ranks(x, quantiles)
        out[name] = np.column_stack([rank, np.isnan(x).astype(np.float64)]) if any_missing else rank[:, None]
    return out


def _encode_labels(values: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    labels = {name: label_strings(v) for name, v in values.items()}
    vocabulary = np.unique(np.concatenate(list(labels.values())))
    table = label_table(len(vocabulary), rng)
    return {name: table[np.searchsorted(vocabulary, v)] for name, v in labels.items()}


@dataclass
class Neighbours:
    """Per query row: exact distance to the closest reference row per group, and the second closest overall."""

    closest: np.ndarray  # (n_groups, n_query)
    second: np.ndarray  # (n_query,) second closest on group 0 (all columns); NaN when not asked for


def _candidate_batches(query: np.ndarray, reference: np.ndarray) -> Iterator[_Batch]:
    """Per batch of query rows: every reference row that may be the closest, with its exact distance.

    |q - r|^2 = [q, |q|^2, 1] . [-2r, 1, |r|^2]: one float32 matrix product per batch. Centring on the
    reference mean keeps the norms, hence the cancellation error, small; every candidate within that
    error of the batch minimum is then re-measured exactly in float64, so the result is exact.
    """
    n_query, n_ref = len(query), len(reference)
    centre = reference.mean(axis=0) if n_ref else np.zeros(reference.shape[1])
    centred = reference - centre
    ref_norms = (centred**2).sum(axis=1)
    ref_aug = np.hstack([-2.0 * centred, np.ones((n_ref, 1)), ref_norms[:, None]])
    ref_aug = np.ascontiguousarray(ref_aug.T, dtype=np.float32)
    largest_norm = float(ref_norms.max()) if n_ref else 0.0
    batch = max(16, min(4096, _BATCH_ELEMENTS // max(n_ref, 1)))
    buffer = np.empty((min(batch, n_query), n_ref), dtype=np.float32)  # reused: no page faults per batch
    for start in range(0, n_query, batch):
        q = query[start : start + batch]
        qc = q - centre
        q_norms = (qc**2).sum(axis=1)
        q_aug = np.hstack([qc, q_norms[:, None], np.ones((len(q), 1))]).astype(np.float32)
        squared = np.matmul(q_aug, ref_aug, out=buffer[: len(q)])
        band = _FLOAT32_ERROR * (q_norms + largest_norm + 1.0)
        low = squared.min(axis=1)
        threshold = (low + band).astype(np.float32)[:, None]  # float32: no upcast of the whole batch
        rows, cols = np.divmod(np.flatnonzero(squared <= threshold), n_ref)  # flatnonzero: 10x faster than nonzero
        exact = ((q[rows] - reference[cols]) ** 2).sum(axis=1)
        order = np.lexsort((exact, rows))
        rows, cols, exact = rows[order], cols[order], exact[order]
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        yield _Batch(start, q, squared, rows, cols, exact, first)


@dataclass
class _Batch:
    """Candidates of one batch, sorted by query row then exact squared distance; ``first``: each row's best."""

    start: int
    query: np.ndarray
    squared: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    exact: np.ndarray
    first: np.ndarray


def closest_distances(
    query: np.ndarray, reference: np.ndarray, *, second: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact distance of every query row to its closest reference row, and (``second``) to the runner-up."""
    n_query, n_ref = len(query), len(reference)
    closest = np.empty(n_query)
    runner_up = np.full(n_query, np.nan) if second else None
    if n_ref < 2:
        second = False
    for b in _candidate_batches(query, reference):
        rows, cols, exact, first, q = b.rows, b.cols, b.exact, b.first, b.query
        closest[b.start : b.start + len(q)] = np.sqrt(exact[first])
        if second:
            # second closest: the runner-up inside the band, or the best outside it
            has_two = np.r_[rows[first[:-1] + 1] == rows[first[:-1]], (len(rows) > first[-1] + 1)]
            in_band = np.where(has_two, exact[np.minimum(first + 1, len(exact) - 1)], np.inf)
            b.squared[rows, cols] = np.inf
            other = b.squared.argmin(axis=1)
            outside = ((q - reference[other]) ** 2).sum(axis=1)
            runner_up[b.start : b.start + len(q)] = np.sqrt(np.minimum(in_band, outside))
    return closest, runner_up


def closest_rows(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (query row, reference row) pair at the query row's exact smallest distance (ties all kept)."""
    found_rows, found_cols = [], []
    for b in _candidate_batches(query, reference):
        best = np.repeat(b.exact[b.first], np.diff(np.r_[b.first, len(b.rows)]))
        keep = b.exact <= best + _TIE
        found_rows.append(b.rows[keep] + b.start)
        found_cols.append(b.cols[keep])
    if not found_rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(found_rows), np.concatenate(found_cols)


def distinct_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``x`` and the inverse map (``np.unique(axis=0)`` is slow on wide rows).

    Rows are keyed by a random linear hash of their bit patterns in wrapping 64-bit integer arithmetic:
    exact and order-free, so equal rows always share a key; distinct rows collide with probability ~2^-64.
    Each cell's bits are mixed first (the splitmix64 finalizer, a bijection): a float such as 0.25 or 1.0 has
    only its top 12 bits set, and products of such patterns alone collided (4 of 300 rows on a 0.25 grid).
    """
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64).copy()
    bits ^= bits >> np.uint64(30)
    bits *= np.uint64(0xBF58476D1CE4E5B9)
    bits ^= bits >> np.uint64(27)
    bits *= np.uint64(0x94D049BB133111EB)
    bits ^= bits >> np.uint64(31)
    multipliers = np.random.default_rng(12345).integers(1, 2**63, size=x.shape[1], dtype=np.uint64) | np.uint64(1)
    keys = (bits * multipliers).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return x[first], inverse.reshape(-1)


def nearest(query: np.ndarray, reference: np.ndarray, groups: list[np.ndarray], *, second: bool) -> Neighbours:
    """Exact nearest-neighbour distances of ``query`` rows among ``reference`` rows, per dimension group.

    ``groups[0]`` must be all dimensions; the second-closest distance (for NNDR) is found for it when
    ``second`` is true. Subsets of the columns often repeat rows, so they are searched on distinct rows
    only (same result, a fraction of the work).
    """
    closest = np.empty((len(groups), len(query)))
    second_closest = np.full(len(query), np.nan)
    for g, dims in enumerate(groups):
        q, ref = query[:, dims], reference[:, dims]
        if g == 0:
            closest[g], found = closest_distances(q, ref, second=second)
            if found is not None:
                second_closest = found
            continue
        distinct_query, inverse = distinct_rows(q)
        distances, _ = closest_distances(distinct_query, distinct_rows(ref)[0], second=False)
        closest[g] = distances[inverse]
    return Neighbours(closest, second_closest)


def dcr_share(to_training: np.ndarray, to_holdout: np.ndarray) -> float:
    """Share of rows closer to training than to holdout; ties count half."""
    tie = np.abs(to_training - to_holdout) <= _TIE
    return float(np.mean((to_training < to_holdout) & ~tie) + 0.5 * np.mean(tie))


def column_groups(
    columns: list[str], association: np.ndarray | None, rng: np.random.Generator
) -> list[tuple[str, list[int]]]:
    """Column subsets checked for a leak: all columns, correlated groups, random groups."""
    n = len(columns)
    groups: list[tuple[str, list[int]]] = [("all", list(range(n)))]
    if n < MIN_COLUMNS_FOR_SUBSETS:
        return groups
    if association is not None:
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        dissimilarity = np.clip(1.0 - association, 0.0, 1.0)
        np.fill_diagonal(dissimilarity, 0.0)
        labels = fcluster(linkage(squareform(dissimilarity, checks=False), method="average"), N_GROUPS, "maxclust")
        for label in sorted(set(labels)):
            members = [i for i in range(n) if labels[i] == label]
            if 0 < len(members) < n:
                groups.append(("correlated", members))
    order = rng.permutation(n)
    for part in np.array_split(order, N_GROUPS):
        groups.append(("random", sorted(int(i) for i in part)))
    return groups


def _row_keys(table: pd.DataFrame, kinds: dict[str, ColumnKind] | None = None) -> np.ndarray:
    if kinds is not None:  # compare values, not dtypes: 3 (int64) and 3.0 (float64) are the same value
        table = pd.DataFrame({c: column_values(table[c], kinds[c]) for c in table.columns}, index=table.index)
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def identical_share(
    query: pd.DataFrame, reference: pd.DataFrame, kinds: dict[str, ColumnKind] | None = None
) -> float:
    """Share of ``query`` rows equal (all evaluated columns, missing equal to missing) to some reference row.

    With ``kinds``, cells are compared as values of their kind (numbers as float64, labels as text).
    """
    if len(query) == 0:
        return 0.0
    return float(np.isin(_row_keys(query, kinds), _row_keys(reference, kinds)).mean())


def distinct_share(table: pd.DataFrame) -> float:
    """Share of distinct rows."""
    return float(len(np.unique(_row_keys(table))) / max(len(table), 1))


def compute_distances(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    tables: dict[str, pd.DataFrame],
    association: np.ndarray | None,
    rng: np.random.Generator,
    *,
    identity_reference: pd.DataFrame | None = None,
) -> tuple[Distances, DistanceHistogram]:
    """The distances section for equal-sized ``tables`` (training, holdout, synthetic).

    Identical rows are looked up among all of ``identity_reference`` (the whole training table; default:
    the training sample), so a copy of a training row outside the sample is still found.
    """
    matrices, dims = encode_tables(columns, kinds, tables, rng)
    groups = column_groups(columns, association, rng)
    dim_groups = [np.concatenate([dims[i] for i in members]) for _, members in groups]
    training, holdout, synthetic = matrices["training"], matrices["holdout"], matrices["synthetic"]
    reference_training = (tables["training"] if identity_reference is None else identity_reference)[columns]
    to_training = nearest(synthetic, training, dim_groups, second=True)
    to_holdout = nearest(synthetic, holdout, dim_groups, second=True)
    # The holdout-to-training distances are only a reference (means, percentiles, histogram): a seeded
    # sample of REFERENCE_ROWS holdout rows measures them well at a fraction of a full search.
    reference_rows = np.sort(rng.permutation(len(holdout))[:REFERENCE_ROWS])
    reference = nearest(holdout[reference_rows], training, dim_groups[:1], second=True)

    shares = [dcr_share(to_training.closest[g], to_holdout.closest[g]) for g in range(len(groups))]
    subsets = [
        SubsetShare(group=kind, columns=[columns[i] for i in members], dcr_share=share)
        for (kind, members), share in zip(groups, shares, strict=True)
    ]
    # the second view (dcr_views) on the same subsets; drawn last, so the first view's figures do not move
    unit_shares = unit_row_shares(columns, kinds, tables, [members for _, members in groups], rng)
    subsets += [
        SubsetShare(group=kind, columns=[columns[i] for i in members], dcr_share=share, view=VIEW_NAME)
        for (kind, members), share in zip(groups, unit_shares, strict=True)
    ]
    closest = {"training": to_training, "holdout": to_holdout, "holdout_training": reference}
    section = Distances(
        n_rows=len(synthetic),
        dcr_share=max(subset.dcr_share for subset in subsets),
        dcr_share_all_columns=shares[0],
        dcr_share_subsets=subsets,
        **_distance_statistics(closest),
        ims_training=identical_share(tables["synthetic"], reference_training, kinds),
        ims_holdout=identical_share(tables["synthetic"], tables["holdout"], kinds),
        ims_holdout_training=identical_share(tables["holdout"], reference_training, kinds),
    )
    return section, distance_histogram(*(found.closest[0] for found in closest.values()))


def unit_row_shares(
    columns: list[str],
    kinds: dict[str, ColumnKind],
    tables: dict[str, pd.DataFrame],
    groups: list[list[int]],
    rng: np.random.Generator,
) -> list[float]:
    """DCR share per column subset (indices into ``columns``) in the unit-row view, on seeded row samples.

    Every table is encoded whole (the number scale on all training rows), then at most ``VIEW_ROWS`` rows of
    each are drawn (one seeded permutation per table) and searched exactly.
    """
    matrices, dims = unit_row_tables(columns, kinds, tables, rng)
    picked = {name: x[np.sort(rng.permutation(len(x))[:VIEW_ROWS])] for name, x in matrices.items()}
    shares = []
    for members in groups:
        d = np.concatenate([dims[i] for i in members])
        synthetic = np.ascontiguousarray(picked["synthetic"][:, d])
        to_training, _ = closest_distances(synthetic, np.ascontiguousarray(picked["training"][:, d]), second=False)
        to_holdout, _ = closest_distances(synthetic, np.ascontiguousarray(picked["holdout"][:, d]), second=False)
        shares.append(dcr_share(to_training, to_holdout))
    return shares


def _distance_statistics(closest: dict[str, Neighbours]) -> dict[str, float | None]:
    """Mean and 5th percentile of the closest distances, and the NNDR's 5th percentile, per comparison."""

    def p5(x: np.ndarray) -> float:
        return float(np.quantile(x, 0.05))

    out: dict[str, float | None] = {}
    for name, found in closest.items():
        ratio = (found.closest[0] + 1e-8) / (found.second + 1e-8)
        out[f"dcr_{name}"] = float(found.closest[0].mean())
        out[f"dcr_{name}_p5"] = p5(found.closest[0])
        out[f"nndr_{name}_p5"] = None if np.isnan(ratio).any() else p5(ratio)
    return out


def distance_histogram(
    synthetic_training: np.ndarray, synthetic_holdout: np.ndarray, holdout_training: np.ndarray
) -> DistanceHistogram:
    """Shares of rows per bin of closest distance, on 30 bins shared by the three (the last holds the tail)."""
    top = float(np.quantile(np.concatenate([synthetic_training, synthetic_holdout, holdout_training]), 0.99)) or 1.0
    edges = np.linspace(0.0, top, 31)

    def counts(x: np.ndarray) -> list[float]:
        return (np.histogram(np.clip(x, 0.0, top), bins=edges)[0] / max(len(x), 1)).round(6).tolist()

    return DistanceHistogram(
        edges=edges.round(6).tolist(),
        synthetic_training=counts(synthetic_training),
        synthetic_holdout=counts(synthetic_holdout),
        holdout_training=counts(holdout_training),
    )
