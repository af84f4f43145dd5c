"""What a generator is asked to generate: which cells are fixed (seeded sampling, rebalancing, imputation).

Its own module because both the generators and the rule enforcement build
requests: neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd


@dataclass
class SamplingRequest:
    """What a subclass is asked to generate.

    ``conditions`` has ``n_rows`` rows and some model columns; a cell is a
    constraint where ``fixed`` is true (a missing value there means "must be
    missing"). With ``impute`` true, free cells must not come back missing.
    A subclass that samples in chunks may call ``progress(rows)`` after each
    chunk, so a live progress line moves inside a batch.
    """

    n_rows: int
    conditions: pd.DataFrame | None = None
    fixed: pd.DataFrame | None = None
    temperature: float = 1.0
    impute: bool = False
    progress: Callable[[int], None] | None = None


__all__ = ["SamplingRequest"]
