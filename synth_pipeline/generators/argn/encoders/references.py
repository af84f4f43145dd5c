""""Equal to an earlier column": exact equalities between number columns, found in training.

When a number column equals an earlier column of the same family in at least 1%
of the training rows (beyond its atoms), say a payment that equals last month's
bill or an end date equal to the start date, the bin sub-column gets one more
code per such *reference* (at most four): "the same value as that column". It
decodes to the reference's sampled value, so the exact relation is reproduced
instead of being blurred by the bins. A reference is only usable when its column
comes first, so a fixed value whose reference is not fixed is encoded by its bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_pipeline.generators.argn.encoders.base import ColumnEncoder
from synth_pipeline.generators.argn.encoders.number import NumberEncoder

MAX_REFERENCES = 4
MIN_EQUAL_SHARE = 0.01
_SCREEN_ROWS = 20_000


@dataclass(frozen=True)
class Equality:
    """A column with references: its sub-columns, and per reference (its "equal" code, the reference column)."""

    column: int
    first_sub: int
    n_subs: int
    codes: list[tuple[int, int]]


def references_of(encoder: ColumnEncoder) -> list[str]:
    """The columns ``encoder``'s codes may refer to: "equal to" references, then its offset's (see :mod:`.offsets`)."""
    return encoder.all_references if isinstance(encoder, NumberEncoder) else []


def find_references(encoders: list[ColumnEncoder], training: pd.DataFrame, *, rare_threshold: int) -> None:
    """Give each binned number column the earlier columns it often equals exactly (see the module docstring).

    Candidates are screened on a sample of rows and confirmed on all of them.
    """
    n = len(training)
    if n == 0:
        return
    screen = np.random.default_rng(0).permutation(n)[:_SCREEN_ROWS] if n > _SCREEN_ROWS else np.arange(n)
    numbers: dict[int, np.ndarray] = {}
    for c, encoder in enumerate(encoders):
        if not isinstance(encoder, NumberEncoder):
            continue
        numbers[c] = encoder.to_numbers(training[encoder.name])
        if encoder.n_bins == 0:
            continue
        x = numbers[c]
        in_bins = ~np.isnan(x) & ~np.isin(x, encoder.atoms)
        earlier = [r for r in numbers if r < c and encoders[r].number_family == encoder.number_family]
        if not earlier or not in_bins[screen].any():
            continue
        sample = np.column_stack([numbers[r][screen] for r in earlier])
        screen_share = ((sample == x[screen, None]) & in_bins[screen, None]).mean(axis=0)
        needed = max(rare_threshold, MIN_EQUAL_SHARE * n)
        found = []
        for k in np.argsort(-screen_share, kind="stable"):
            if screen_share[k] < MIN_EQUAL_SHARE / 2 or len(found) == MAX_REFERENCES:
                break
            count = int(((numbers[earlier[k]] == x) & in_bins).sum())
            if count >= needed:
                found.append(earlier[k])
        encoder.references = [encoders[r].name for r in found]
