"""benchmarks/protection_floor.py: perfect rows protected as argn protects its output (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from protection_floor import protect  # noqa: E402

from synth_pipeline.protection import protected_bounds  # noqa: E402
from synth_pipeline.simulate import simulate_listings  # noqa: E402


@pytest.mark.parametrize("stand_in", ["uniform", "proportional", "capped", "made-up", "placeholder"])
def test_protected_rows_hold_no_rare_value_and_no_number_beyond_the_protected_bounds(stand_in: str) -> None:
    table = simulate_listings(3000, random_state=0)
    training, rows = table.iloc[:1500].reset_index(drop=True), table.iloc[1500:].reset_index(drop=True)
    k = 7
    out = protect(rows, training, k, stand_in, np.random.default_rng(0))
    for name in ("street", "host_name", "neighbourhood", "room_type"):
        counts = training[name].value_counts()
        frequent = set(counts.index[counts >= k])
        if stand_in in ("made-up", "placeholder"):  # values no training row holds
            assert not set(out[name]) & (set(training[name]) - frequent), name
        else:
            assert set(out[name]) <= frequent, name
        kept = rows[name].isin(frequent)
        assert (out.loc[kept, name] == rows.loc[kept, name]).all(), name  # frequent values are left alone
        if name in ("street", "host_name"):
            assert (~kept).any(), name  # many streets and hosts are rare: something was replaced
    for name in ("rooms", "area_m2", "price", "reviews"):
        low, high = protected_bounds(np.sort(training[name].to_numpy(dtype=float)), k)
        assert out[name].between(low, high).all(), name
        assert out[name].dtype == rows[name].dtype
    again = protect(rows, training, k, stand_in, np.random.default_rng(0))
    pd.testing.assert_frame_equal(out, again)


def test_an_unknown_stand_in_rule_is_refused() -> None:
    table = simulate_listings(200, random_state=0)
    with pytest.raises(ValueError, match="stand_in"):
        protect(table, table, 5, "nearest", np.random.default_rng(0))
