"""Value protection's rare pool: what a drawn rare code is written as (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.generators.argn import ARGNGenerator


def _mostly_rare(n: int, seed: int) -> pd.DataFrame:
    """Half the rows hold one common value, a fifth five mid values, the rest values seen once or twice."""
    rng = np.random.default_rng(seed)
    n_common, n_mid = n // 2, n // 5
    values = ["common"] * n_common + [f"mid {i % 5}" for i in range(n_mid)]
    values += [f"rare {i // 2}" for i in range(n - n_common - n_mid)]
    order = rng.permutation(n)
    return pd.DataFrame({"c": np.array(values, dtype=object)[order], "x": rng.normal(size=n).round(2)})


def test_rare_rows_do_not_inflate_the_common_values() -> None:
    """The rare rows' share (30%) goes to the frequent values evenly, not in proportion to their own shares.

    In proportion, "common" would be written in 0.5 / 0.7 = 71% of the rows and each mid value in 6%; evenly,
    in 0.5 + 0.3 / 6 = 55% and 9%. (This short fit learns the shares roughly: in proportion it wrote 59% and 8%.)
    """
    training = _mostly_rare(600, seed=0)
    model = ARGNGenerator(max_epochs=8, patience=2, n_threads=1, random_state=0).fit(training)
    synthetic = model.sample(4000)
    shares = synthetic["c"].value_counts(normalize=True)
    assert not synthetic["c"].str.startswith("rare").any()  # no rare training value is written
    assert 0.42 <= shares["common"] <= 0.54
    assert np.mean([shares[f"mid {i}"] for i in range(5)]) >= 0.09
    assert set(shares.index) == {"common", *(f"mid {i}" for i in range(5))}
