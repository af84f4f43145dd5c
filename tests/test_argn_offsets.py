"""Offset codes (a number relative to an earlier column) and the "round number" sub-column of argn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import EncoderSettings, NumberEncoder, TableEncoder
from synth_pipeline.generators.argn.encoders.rounding import Rounding
from synth_pipeline.generators.argn.offset_sampling import offset_replaced_codes
from synth_pipeline.generators.argn.sampling import sample_codes
from synth_pipeline.simulate import simulate_listings, simulate_race_splits

SETTINGS = EncoderSettings(rare_threshold=5, n_bins=32, n_levels=8, max_exact_values=16, rounding=True)
SPLITS = [f"split_{j}" for j in range(1, 10)]


def _proportional(n_rows: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = np.exp(rng.normal(5.0, 0.4, n_rows))
    signed = rng.normal(0.0, 100.0, n_rows)
    return pd.DataFrame({
        "base": base,
        "double": base * 2.0 * np.exp(rng.normal(0.0, 0.02, n_rows)),
        "signed": signed,
        "shifted": signed + rng.normal(50.0, 3.0, n_rows),
        "noise": rng.normal(0.0, 1.0, n_rows),
    })


def _fit(table: pd.DataFrame, settings: EncoderSettings = SETTINGS) -> TableEncoder:
    return TableEncoder.fit(table, dict.fromkeys(table.columns, ColumnKind.NUMERIC), settings)


def _offset(encoder: TableEncoder, name: str):  # noqa: ANN202 - the Offset or None
    column = encoder.encoders[encoder.names.index(name)]
    assert isinstance(column, NumberEncoder)
    return column.offset


def test_offsets_are_found_for_proportional_and_shifted_columns_only() -> None:
    encoder = _fit(_proportional())
    double, shifted = _offset(encoder, "double"), _offset(encoder, "shifted")
    assert double is not None and double.reference == "base"
    # signed numbers have no ratio, and noise no relation: both keep their own bins
    assert shifted is None and _offset(encoder, "noise") is None and _offset(encoder, "base") is None
    off = _fit(_proportional(), EncoderSettings(**{**SETTINGS.__dict__, "offsets": False}))
    assert all(_offset(off, name) is None for name in off.names)


def test_offset_codes_round_trip_exactly() -> None:
    """Decoded values re-encode to the very codes they came from, inside the protected ranges."""
    table = _proportional()
    encoder = _fit(table)
    codes = encoder.encode(table)
    double = encoder.names.index("double")
    assert (codes[:, encoder.first_sub[double]] >= encoder.encoders[double].first_offset_code).all()
    decoded = encoder.decode(codes, np.random.default_rng(0))
    inside = np.ones(len(table), dtype=bool)
    for column in encoder.encoders:
        assert isinstance(column, NumberEncoder)
        # value protection clips what lies beyond the column's bins, before or after decoding
        inside &= table[column.name].between(column.edges[0], column.edges[-1]).to_numpy()
        inside &= decoded[column.name].between(column.edges[0], column.edges[-1], inclusive="neither").to_numpy()
        if column.offset is not None:
            offset = column.offset.offsets(table[column.name].to_numpy(), table[column.offset.reference].to_numpy())
            inside &= (offset >= column.offset.edges[0]) & (offset <= column.offset.edges[-1])
    assert inside.mean() > 0.9
    np.testing.assert_array_equal(encoder.encode(decoded)[inside], codes[inside])
    # and the ratio survives decoding to within one slice of one offset bin
    ratio = decoded["double"] / decoded["base"]
    assert np.abs(np.log(ratio / (table["double"] / table["base"]))).max() < 0.02


def test_offset_decoding_stays_inside_the_protected_range() -> None:
    table = _proportional()
    encoder = _fit(table)
    column = encoder.encoders[encoder.names.index("double")]
    codes = encoder.encode(table)
    # the largest offset bin on top of the largest base value
    base, double = (encoder.first_sub[encoder.names.index(n)] for n in ("base", "double"))
    codes[:, base] = encoder.encoders[0].first_cardinality - 1
    codes[:, double] = column.first_cardinality - 1
    decoded = encoder.decode(codes, np.random.default_rng(0))
    assert decoded["double"].max() <= column.edges[-1] + 1e-6  # (rounded to the 6 decimals seen)


def test_rounding_units_and_exact_round_trip() -> None:
    rng = np.random.default_rng(0)
    x = np.where(rng.random(2000) < 0.4, np.round(rng.uniform(0, 50_000, 2000), -2), rng.integers(0, 50_000, 2000))
    rounding = Rounding.fit(x.astype(float), 0, rare_threshold=5)
    assert rounding is not None and 100.0 in rounding.units.tolist() and 1.0 not in rounding.units.tolist()
    codes = rounding.code(x.astype(float))
    np.testing.assert_array_equal(rounding.apply(x.astype(float), codes, 0.0, 50_000.0), x)
    jittered = x + rng.uniform(-20, 20, len(x))
    back = rounding.apply(jittered, codes, 0.0, 50_000.0)
    for j, unit in enumerate(rounding.units, start=1):
        assert (back[codes == j] % unit == 0).all()
    assert (back[codes == 0] % 10 != 0).mean() > 0.8  # not rounded where the code says "not round"
    assert Rounding.fit(rng.integers(0, 50_000, 2000).astype(float), 0, rare_threshold=5) is None


@pytest.mark.integration
def test_round_numbers_are_sampled_as_often_as_in_training() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    amount = rng.gamma(2.0, 3000.0, n)
    amount = np.where(rng.random(n) < 0.45, np.round(amount, -2), np.round(amount))
    table = pd.DataFrame({"amount": amount.astype(np.int64), "group": rng.choice(["a", "b"], n)})
    share = lambda frame: float((frame["amount"] % 100 == 0).mean())  # noqa: E731
    sampled = ARGNGenerator(max_epochs=30, random_state=0, round_numbers=True).fit(table).sample(3000)
    plain = ARGNGenerator(max_epochs=30, random_state=0).fit(table).sample(3000)
    assert abs(share(sampled) - share(table)) < 0.05  # measured: 0.478 against 0.454
    assert share(plain) < share(table) - 0.08  # measured: 0.347 (only the frequent round values, as atoms)


@pytest.fixture(scope="module")
def race() -> pd.DataFrame:
    return simulate_race_splits(1200, random_state=0)


def _pair_error(synthetic: pd.DataFrame, training: pd.DataFrame) -> float:
    """Mean absolute difference of the pairwise correlations of the split times."""
    real, fake = training[SPLITS].corr().to_numpy(), synthetic[SPLITS].astype(float).corr().to_numpy()
    upper = np.triu_indices(len(SPLITS), 1)
    return float(np.abs(real[upper] - fake[upper]).mean())


@pytest.mark.integration
def test_offsets_keep_the_pairwise_structure_of_a_small_correlated_table(race: pd.DataFrame) -> None:
    fast = {"max_epochs": 12, "patience": 3, "random_state": 0}
    with_offsets = ARGNGenerator(**fast).fit(race).sample(1200, random_state=1)
    without = ARGNGenerator(**fast, number_offsets=False).fit(race).sample(1200, random_state=1)
    assert _pair_error(with_offsets, race) < 0.5 * _pair_error(without, race)
    assert _pair_error(with_offsets, race) < 0.03


def test_offset_models_are_reproducible_and_never_cut_a_value_loose(race: pd.DataFrame) -> None:
    fast = {"max_epochs": 3, "random_state": 3}
    first, second = ARGNGenerator(**fast).fit(race), ARGNGenerator(**fast).fit(race)
    pd.testing.assert_frame_equal(first.sample(300, random_state=2), second.sample(300, random_state=2))
    encoder = first.encoder_
    replaced = offset_replaced_codes(encoder)
    assert replaced, "the split times should be coded as offsets"
    codes = sample_codes(first.network_, encoder, 2000, known_codes=None, known=None, impute=False,
                         temperature=1.0, generator=torch.Generator().manual_seed(0))
    for c, forbidden in replaced.items():
        drawn = codes[:, encoder.first_sub[c]]
        assert not np.isin(drawn, forbidden.codes).any()


def test_offset_and_rounding_survive_saving(race: pd.DataFrame) -> None:
    table = race[SPLITS].assign(fee=np.where(race.index % 2 == 0, race["split_1"].round(-2), race["split_1"] // 3))
    # (without spikes: the round fees would be exact atoms, with nothing left to round)
    settings = EncoderSettings(**{**SETTINGS.__dict__, "spikes": False})
    encoder = TableEncoder.fit(table, dict.fromkeys(table.columns, ColumnKind.INTEGER), settings)
    fee = encoder.encoders[-1]
    assert isinstance(fee, NumberEncoder) and fee.rounding is not None
    loaded = TableEncoder.from_state(encoder.to_state())
    codes = encoder.encode(table)
    np.testing.assert_array_equal(loaded.encode(table), codes)
    pd.testing.assert_frame_equal(
        loaded.decode(codes, np.random.default_rng(0)), encoder.decode(codes, np.random.default_rng(0))
    )


def test_offset_values_may_fall_where_the_atoms_are() -> None:
    """An offset-coded column whose own bins hold only its rare tail still decodes across its whole range."""
    listings = simulate_listings(3000, random_state=0)  # the generator benchmark's training half
    listings = listings.iloc[np.random.default_rng(0).permutation(3000)[:1500]].reset_index(drop=True)
    columns = ["rooms", "area_m2"]
    defaults = EncoderSettings(rare_threshold=5, n_bins=64, n_levels=8, max_exact_values=128)
    encoder = TableEncoder.fit(listings[columns], dict.fromkeys(columns, ColumnKind.INTEGER), defaults)
    area = encoder.encoders[1]
    assert isinstance(area, NumberEncoder) and area.offset is not None and area.atoms[0] < area.edges[0]
    decoded = encoder.decode(encoder.encode(listings[columns]), np.random.default_rng(0))
    assert abs(decoded["area_m2"].median() - listings["area_m2"].median()) <= 2
    assert (decoded["area_m2"] - listings["area_m2"]).abs().median() <= 2
