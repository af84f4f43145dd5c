"""Closeness on tables of rare categories (issue 15): what a drawn rare code is written as, evidence-scaled decay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import EncoderSettings, TableEncoder
from synth_pipeline.generators.argn.encoders.categorical import CategoricalEncoder
from synth_pipeline.generators.argn.regularization import EVIDENCE_ROWS, MAX_FACTOR, decay_factor
from synth_pipeline.quality.evaluate import evaluate
from synth_pipeline.simulate import simulate_listings


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
    in 0.5 + 0.3 / 6 = 55% and 9%. (This short fit learns the shares roughly: in proportion it wrote 59% and 8%;
    evenly 47% and 11% without marginal calibration, 54% and 9% with it.)
    """
    training = _mostly_rare(600, seed=0)
    model = ARGNGenerator(max_epochs=8, patience=2, n_threads=1, random_state=0).fit(training)
    synthetic = model.sample(4000)
    shares = synthetic["c"].value_counts(normalize=True)
    assert not synthetic["c"].str.startswith("rare").any()  # no rare training value is written
    assert 0.42 <= shares["common"] <= 0.60  # evenly: 55%; in proportion: 71%
    assert np.mean([shares[f"mid {i}"] for i in range(5)]) >= 0.09
    assert set(shares.index) == {"common", *(f"mid {i}" for i in range(5))}


def test_weight_decay_grows_only_where_category_values_have_few_rows() -> None:
    settings = EncoderSettings(rare_threshold=5, n_bins=16, n_levels=4, max_exact_values=0)
    listings = simulate_listings(1500, random_state=0)
    kinds = {c: ColumnKind.CATEGORICAL for c in ("street", "neighbourhood", "host_name", "room_type")}
    kinds |= {c: ColumnKind.INTEGER for c in ("rooms", "area_m2", "price", "reviews")}
    encoder = TableEncoder.fit(listings, kinds, settings)
    widest = max(e.first_cardinality for e in encoder.encoders if isinstance(e, CategoricalEncoder))
    assert decay_factor(1500, encoder) == pytest.approx(min(MAX_FACTOR, EVIDENCE_ROWS * widest / 1500))
    assert decay_factor(1500, encoder) > 2
    # a few codes each held by many rows, or no categorical column at all: the configured decay
    few = TableEncoder.fit(listings[["room_type", "price"]], {"room_type": kinds["room_type"], "price": kinds["price"]},
                           settings)
    assert decay_factor(1500, few) == 1.0
    assert decay_factor(1500, TableEncoder.fit(listings[["price"]], {"price": ColumnKind.INTEGER}, settings)) == 1.0


@pytest.mark.integration
def test_a_listings_table_is_not_much_closer_to_training_than_to_a_holdout() -> None:
    """The default argn on a listings-shaped table (many streets and hosts, most in few rows; the generator
    benchmark's split): its rows are about as close to a holdout as to training, and it stays accurate.

    Before the rare stand-in and the evidence-scaled decay this model read DCR share 0.584, overall 0.818.
    """
    table = simulate_listings(3000, random_state=0)
    order = np.random.default_rng(0).permutation(len(table))
    training = table.iloc[order[:1500]].reset_index(drop=True)
    holdout = table.iloc[order[1500:]].reset_index(drop=True)
    synthetic = ARGNGenerator(n_threads=1, random_state=0).fit(training).sample(1500)
    report = evaluate(training, holdout, synthetic, metrics=["accuracy", "distances"])
    assert report.distances.dcr_share_all_columns <= 0.56
    assert report.accuracy.overall >= 0.86
