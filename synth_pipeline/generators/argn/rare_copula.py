"""Rows conditioned on a value argn saw very few times come from a Gaussian copula of the whole table.

A class seen 18 times in 18,000 rows teaches argn's heads little about the rows *given* it: weight
decay, dropout and early stopping shrink that conditional toward the majority, and what is left is
learned from 18 rows (census, the rebalancing benchmark: argn's rows rebalanced to such a class help a
classifier less than SMOTE-NC's, and differently from seed to seed). A Gaussian copula conditions
through a correlation fitted on *every* row: given the rare value, the other columns shift along
the directions the whole table correlates with it, smooth shifts that borrow strength from the
common rows. So argn also fits a copula (after its own training, from its own seed: the network
and plain sampling are exactly as without it), and a seeded or rebalanced row whose fixed cells hold
a categorical value seen fewer than ``rare_copula_count`` times in training is drawn by the copula;
every other row by argn. Columns the copula cannot model (free text) are argn's in every row.
Under a privacy budget argn fits no copula (it would need a budget of its own).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.schema import Schema

#: per categorical or boolean column, each training value (as text) and its share
Frequencies = dict[str, dict[str, float]]


def fit_rare_copula(training: pd.DataFrame, schema: Schema, random_state: int | None) -> GaussianCopulaGenerator:
    """A Gaussian copula of ``training``'s columns other than free text (canonical model columns)."""
    columns = [c for c in training.columns if c in schema and schema.kind(c) is not ColumnKind.TEXT]
    specs = Schema([schema[c] for c in columns])
    return GaussianCopulaGenerator(random_state=random_state).fit(training[columns], schema=specs)


def rare_rows(request: SamplingRequest, frequencies: Frequencies, n_training_rows: int, below: int) -> np.ndarray:
    """Which rows of ``request`` fix a categorical value seen fewer than ``below`` times in training."""
    out = np.zeros(request.n_rows, dtype=bool)
    if request.conditions is None or request.fixed is None or request.impute or below <= 0:
        return out
    for name, shares in frequencies.items():
        if name not in request.conditions.columns or name not in request.fixed.columns:
            continue
        counts = request.conditions[name].astype(str).map(shares).fillna(1.0).to_numpy(dtype=float) * n_training_rows
        out |= request.fixed[name].to_numpy(dtype=bool) & (counts < below - 0.5)
    return out


def rows_of(request: SamplingRequest, rows: np.ndarray) -> SamplingRequest:
    """The part of ``request`` made of the ``rows`` (a boolean mask), renumbered from 0."""

    def part(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else frame.loc[rows].reset_index(drop=True)

    return SamplingRequest(
        int(rows.sum()), part(request.conditions), part(request.fixed), request.temperature, request.impute,
        request.progress,
    )


def merge_rows(
    argn_rows: pd.DataFrame, copula_rows: pd.DataFrame, rows: np.ndarray, argn_has_all: bool
) -> pd.DataFrame:
    """The request's rows: the copula's columns from ``copula_rows`` where ``rows``, the rest from argn.

    ``argn_rows`` holds every row of the request when ``argn_has_all``, else only those not in ``rows``.
    """
    if argn_has_all:
        out = argn_rows.copy()
        out.loc[rows, list(copula_rows.columns)] = copula_rows.set_axis(np.flatnonzero(rows)).to_numpy()
        return out.astype(argn_rows.dtypes.to_dict())
    index = np.arange(len(rows))
    parts = [argn_rows.set_axis(index[~rows]), copula_rows.set_axis(index[rows])]
    return pd.concat(parts).sort_index()[list(argn_rows.columns)]


def copula_state(copula: GaussianCopulaGenerator) -> dict[str, Any]:
    """What sampling needs of the copula: its columns' specs and its marginals and correlation."""
    return {"schema": copula.schema_.to_dict(), "random_state": copula.random_state, **copula._get_state()}


def copula_from_state(state: dict[str, Any]) -> GaussianCopulaGenerator:
    """The copula :func:`copula_state` describes, ready to draw rows (``_sample``)."""
    copula = GaussianCopulaGenerator(random_state=state["random_state"])
    copula.schema_ = Schema.from_dict(state["schema"])
    copula._set_state(state)
    return copula
