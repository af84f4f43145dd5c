"""The holdout protocol: a reproducible split of the source into training and holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.schema import check_table


def split_holdout(
    source: pd.DataFrame,
    *,
    fraction: float = 0.5,
    random_state: int = 0,
    stratify: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``source`` into (training, holdout); ``fraction`` of the rows go to holdout.

    The same data and ``random_state`` always give the same split. With
    ``stratify``, each value of that column is split in the same proportion.
    Both halves get a fresh 0..n-1 index.
    """
    check_table(source, what="source")
    if not 0 < fraction < 1:
        raise ConfigError(f"holdout fraction must be between 0 and 1 (exclusive), got {fraction}")
    if len(source) < 2:
        raise InvalidDataError(f"the source has {len(source)} row(s); a training/holdout split needs at least 2")
    rng = np.random.default_rng(random_state)
    if stratify is None:
        groups = [np.arange(len(source))]
    else:
        if stratify not in source.columns:
            raise ConfigError(
                f"holdout.stratify: column {stratify!r} is not in the source{did_you_mean(stratify, source.columns)}; "
                f"its columns are: {', '.join(map(str, source.columns))}"
            )
        codes = pd.factorize(source[stratify].astype(str), sort=True)[0]
        groups = [np.flatnonzero(codes == code) for code in np.unique(codes)]
    holdout_rows = []
    for positions in groups:
        shuffled = rng.permutation(positions)
        holdout_rows.append(shuffled[: int(round(fraction * len(shuffled)))])
    holdout_mask = np.zeros(len(source), dtype=bool)
    holdout_mask[np.concatenate(holdout_rows)] = True
    if holdout_mask.all() or not holdout_mask.any():
        raise InvalidDataError(
            f"a holdout fraction of {fraction} leaves one half of the {len(source)} source rows empty"
        )
    order = rng.permutation(len(source))
    training = source.iloc[order[~holdout_mask[order]]].reset_index(drop=True)
    holdout = source.iloc[order[holdout_mask[order]]].reset_index(drop=True)
    return training, holdout
