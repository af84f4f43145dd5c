"""Each column's first sub-column calibrated after training: sampled code shares brought to their targets.

An autoregressive network samples each column given the columns it drew before, not the real ones,
so small errors of the early columns carry into the later ones: on creditcard_default the six
repayment-status columns (``pay_0`` ... ``pay_6``, drawn after the demographics) came out 1.2-1.6 pp
(total variation) from their training marginals where a fresh real sample is 0.3-0.7 pp away, while
the first columns sat at their ceiling. Calibration fixes the marginals without touching the
conditional structure: rows are sampled from the network (codes only, from the fit's seeded
generator), the share of every code of a column's first sub-column is compared with its target, and
the log of target over sampled share is added to that code's output bias (``b2``: every context
shifts alike). A few rounds settle the interplay of the columns. A code moves only by what its gap exceeds
sampling noise (the target's rows and the calibration sample's; positive-part James-Stein shrinkage): on a
well-calibrated network, or a small table whose training shares are themselves noisy, calibration would
otherwise copy noise into the model (census: overall 0.9792 -> 0.9774 unshrunk; the 1,350-row race table:
DCR share 0.532 -> 0.542; ``benchmarks/marginal_calibration.py``).

The targets are the training rows' own code shares (:func:`calibrate_to_training`; the codes the
network was trained on, "equal to" and offset codes included), or, under ``privacy``, the noisy
counts the DP statistics released (:mod:`.private_calibration`, post-processing: no ε).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.sampling import sample_codes

#: rounds of sampling and shifting
CALIBRATION_ROUNDS = 3
#: rows sampled per round: under privacy (the released counts' own noise is larger), and without it (census, one
#: network: 20,000 rows left the calibrated accuracy spread over ±0.07 pp between calibration seeds)
CALIBRATION_ROWS = 20_000
TRAINING_CALIBRATION_ROWS = 100_000
#: a code's share is never taken below this many rows' worth (no infinite shifts)
FLOOR_ROWS = 0.5

#: (the table's index of a column's first sub-column, target shares (NaN: no target of its own), those codes)
Column = tuple[int, np.ndarray, np.ndarray]


def calibrate_to_training(
    network: ARGNNetwork, table_encoder: object, codes: np.ndarray, generator: torch.Generator
) -> int:
    """Shift ``network``'s output biases in place toward the training ``codes``' shares; the columns shifted."""
    n_rows = max(len(codes), 1)
    columns: list[Column] = []
    for c, encoder in enumerate(table_encoder.encoders):
        sub = int(table_encoder.first_sub[c])
        size = int(encoder.first_cardinality)
        target = np.bincount(np.asarray(codes[:, sub], dtype=np.int64), minlength=size)[:size] / n_rows
        columns.append((sub, target, np.zeros(size, dtype=bool)))
    return shift_marginals(network, table_encoder, columns, generator, n_target=n_rows,
                           rows=TRAINING_CALIBRATION_ROWS)


def shift_marginals(
    network: ARGNNetwork, table_encoder: object, columns: Sequence[Column], generator: torch.Generator,
    n_target: float = float("inf"), rows: int | None = None,
) -> int:
    """The calibration rounds (see the module docstring) for ``columns``; the number of columns shifted.

    ``n_target``: how many rows the targets were counted on (their sampling noise); inf (the released counts
    under privacy): every gap is closed as sampled. ``rows``: sampled per round (None: :data:`CALIBRATION_ROWS`).
    """
    if not columns:
        return 0
    m = rows or CALIBRATION_ROWS
    floor = FLOOR_ROWS / m
    for _ in range(CALIBRATION_ROUNDS):
        sampled = sample_codes(network, table_encoder, m, known_codes=None, known=None, impute=False,
                               temperature=1.0, generator=generator)
        with torch.no_grad():
            for sub, target, free in columns:
                observed = np.bincount(sampled[:, sub], minlength=len(target))[: len(target)] / m
                goal = _goal(target, free, observed)
                shift = np.log(np.maximum(goal, floor)) - np.log(np.maximum(observed, floor))
                if np.isfinite(n_target):  # training's shares: the part of the gap beyond sampling noise
                    shift *= _beyond_noise(goal, observed, n_target, m)
                bucket, slot = network.target_slot[sub]
                network.b2[bucket][slot, : len(target)] += torch.as_tensor(shift, dtype=network.b2[bucket].dtype)
    return len(columns)


def _beyond_noise(goal: np.ndarray, observed: np.ndarray, n_target: float, m: int) -> np.ndarray:
    """Per code, the share of its shift to make: ``max(0, 1 - noise / gap²)`` (positive-part James-Stein).

    ``noise`` is the variance of the gap between two samples' shares, ``n_target`` rows for the target and ``m``
    sampled: a gap within what sampling alone gives is left (moving it would copy the training rows' own noise
    into the model, and add the calibration sample's), a gap far beyond it is closed fully.
    """
    noise = goal * (1.0 - goal) / n_target + observed * (1.0 - observed) / m
    gap = (goal - observed) ** 2
    return np.where(gap > noise, 1.0 - noise / np.maximum(gap, 1e-300), 0.0)


def _goal(target: np.ndarray, free: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The shares to reach: codes with a target at it, the others filling the rest as sampled."""
    goal = np.where(free, 0.0, target)
    rest = max(1.0 - goal.sum(), 0.0)
    sampled_free = observed[free].sum()
    if free.any() and sampled_free > 0:
        goal[free] = observed[free] * rest / sampled_free
    total = goal.sum()
    return goal / total if total > 0 else observed
