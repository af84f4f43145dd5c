"""What a generator is asked to generate: which cells are fixed (seeded sampling, rebalancing, imputation).

Its own module because both the generators and the rule enforcement build
requests: neither has to import the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class SamplingRequest:
    """What a subclass is asked to generate.

    ``conditions`` has ``n_rows`` rows and some model columns; a cell is a
    constraint where ``fixed`` is true (a missing value there means "must be
    missing"). With ``impute`` true, free cells must not come back missing.
    """

    n_rows: int
    conditions: pd.DataFrame | None = None
    fixed: pd.DataFrame | None = None
    temperature: float = 1.0
    impute: bool = False


__all__ = ["SamplingRequest"]
