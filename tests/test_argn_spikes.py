"""Spikes: values far more frequent than their neighbours stay exact atoms (argn/encoders/spikes.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn.encoders import EncoderSettings, NumberEncoder, fit_column
from synth_pipeline.generators.argn.encoders.spikes import spike_values

SETTINGS = EncoderSettings(rare_threshold=5, n_bins=32, n_levels=8, max_exact_values=16)
SPIKES = [1000.0, 1500.0, 2500.0, 4000.0, 7000.0, 10_000.0]


def _payments(n: int = 6000, seed: int = 0) -> pd.Series:
    """Whole amounts: 0 in a fifth of the rows, a few round amounts in 1% each, the rest smooth.

    The smooth head has many values seen 5+ times, more than ``max_exact_values``.
    """
    rng = np.random.default_rng(seed)
    amount = np.round(rng.gamma(1.5, 500.0, n))
    amount[rng.random(n) < 0.2] = 0.0
    for value in SPIKES:
        amount[rng.random(n) < 0.01] = value
    return pd.Series(amount)


def _fit(values: pd.Series, settings: EncoderSettings = SETTINGS) -> NumberEncoder:
    encoder = fit_column("amount", ColumnKind.NUMERIC, values, settings)
    assert isinstance(encoder, NumberEncoder)
    return encoder


def test_round_amounts_far_above_their_neighbours_become_atoms() -> None:
    values = _payments()
    with_spikes, without = _fit(values), _fit(values, replace(SETTINGS, spikes=False))
    assert set(SPIKES) <= set(with_spikes.atoms.tolist())
    assert not set(SPIKES) & set(without.atoms.tolist())  # lighter than a bin: smeared before
    assert 0.0 in without.atoms.tolist() and len(with_spikes.atoms) <= SETTINGS.max_exact_values
    assert with_spikes.to_state()["atoms"].tolist() == _fit(values).atoms.tolist()  # deterministic


def test_smooth_whole_numbers_have_no_spikes() -> None:
    rng = np.random.default_rng(1)
    durations = pd.Series(rng.poisson(200.0, 8000).astype(float))  # every value about as frequent as its neighbours
    assert len(_fit(durations).atoms) == len(_fit(durations, replace(SETTINGS, spikes=False)).atoms)


def test_spike_values_round_trip_exactly() -> None:
    values = _payments()
    encoder = _fit(values)
    codes = encoder.encode(values)
    decoded = encoder.decode(codes, np.random.default_rng(0).random(len(values)))
    atoms = values.isin(encoder.atoms).to_numpy()
    assert values[atoms].isin(SPIKES).any()
    np.testing.assert_array_equal(decoded[atoms].to_numpy(), values[atoms].to_numpy())
    np.testing.assert_array_equal(encoder.encode(decoded)[atoms], codes[atoms])


def test_spikes_respect_the_budget_and_the_mass_threshold() -> None:
    distinct = np.arange(0.0, 200.0)
    counts = np.full(len(distinct), 2)
    counts[[50, 100, 150]] = [400, 300, 3]  # two heavy spikes; a lone 3 is below the rare threshold
    spikes = spike_values(distinct, counts, np.zeros(len(distinct), dtype=bool), unit=1.0, rare_threshold=5,
                          n_bins=32, budget=1)
    assert np.flatnonzero(spikes).tolist() == [50]  # the budget keeps the most frequent one
    none = spike_values(distinct, counts, np.zeros(len(distinct), dtype=bool), unit=float("nan"), rare_threshold=5,
                        n_bins=32, budget=5)
    assert not none.any()  # floats without a step: no spikes
