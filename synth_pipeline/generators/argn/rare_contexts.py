"""Rare conditioning values weigh more in training, so conditioning on a rare class is learned.

A class seen 18 times in 18,000 rows is 0.1% of the likelihood: weight decay, dropout and early
stopping on a validation split shrink what the heads learn from it toward the population, so rows
sampled *given* that class (rebalancing, seeded sampling) come out close to the majority.

The loss of a head is weighted by the rarest categorical value among the cells that head *sees*
(its context in the row's training order), never by its own target: a weight that depends only on
the context leaves the best conditional distribution of every head unchanged (each context's
conditional is still fitted by maximum likelihood; only the effort spent on rare contexts grows), so
the marginal share of the rare class is not inflated. A value with share ``f`` below
``reference_share`` weighs ``min(reference_share / f, max_weight)``; common values weigh 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synth_pipeline.generators.argn.encoders import TableEncoder
from synth_pipeline.generators.argn.encoders.categorical import CategoricalEncoder

#: values rarer than this share of the training rows weigh more as context
REFERENCE_SHARE = 0.05


def value_weights(
    codes: np.ndarray, encoder: TableEncoder, *, max_weight: float, reference_share: float = REFERENCE_SHARE
) -> tuple[np.ndarray, np.ndarray] | None:
    """The categorical sub-columns whose values can weigh more, and (n, those) each cell's weight.

    None when no value is rare enough (or ``max_weight`` is 1): training is then unweighted.
    """
    if max_weight <= 1 or len(codes) == 0:
        return None
    subs, columns = [], []
    for c, column in enumerate(encoder.encoders):
        if not isinstance(column, CategoricalEncoder):
            continue
        sub = int(encoder.first_sub[c])
        counts = np.bincount(codes[:, sub], minlength=int(encoder.cardinalities[sub]))
        share = counts / len(codes)
        per_code = np.clip(reference_share / np.maximum(share, 1e-12), 1.0, max_weight)
        if (per_code[counts > 0] > 1).any():
            subs.append(sub)
            columns.append(per_code[codes[:, sub]])
    if not subs:
        return None
    return np.asarray(subs, dtype=np.int64), np.stack(columns, axis=1).astype(np.float32)


def head_weights(cells: torch.Tensor, subs: torch.Tensor, masks: torch.Tensor, bounds: np.ndarray) -> torch.Tensor:
    """(n, S) loss weight per row and head: the largest weight among the weighted cells the head sees.

    ``cells`` (n, R) are the weights of the rows' cells in sub-columns ``subs`` (R); ``masks``
    (G, S, S) the groups' order masks over ``bounds`` (``masks[g, t, s]``: head t sees s).
    """
    parts = []
    for g in range(masks.shape[0]):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if hi <= lo:
            continue
        sees = masks[g][:, subs]  # (S, R)
        parts.append((cells[lo:hi, None, :] * sees[None]).amax(dim=2).clamp(min=1.0))
    return torch.cat(parts, dim=0)


def rare_condition_strength(
    conditions: pd.DataFrame,
    fixed: pd.DataFrame,
    frequencies: dict[str, dict[str, float]],
    strength: float,
    *,
    reference_share: float = REFERENCE_SHARE,
) -> np.ndarray | None:
    """Per request row, the guidance of its conditions: ``strength`` where a fixed categorical
    cell holds a value rarer than ``reference_share`` in training, else 0; None when no row has one.
    """
    if strength <= 0:
        return None
    out = np.zeros(len(conditions), dtype=np.float32)
    for name, shares in frequencies.items():
        if name not in conditions.columns or name not in fixed.columns:
            continue
        share = conditions[name].astype(str).map(shares).fillna(1.0).to_numpy(dtype=float)
        out[fixed[name].to_numpy(dtype=bool) & (share < reference_share)] = strength
    return out if out.any() else None
