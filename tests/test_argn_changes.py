"""The "change" sub-column of argn: how far the next, related number lies from this one, drawn before it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import EncoderSettings, NumberEncoder, TableEncoder
from synth_pipeline.generators.argn.encoders.changes import Change, draw_within
from synth_pipeline.generators.argn.sampling import sample_codes

SETTINGS = EncoderSettings(rare_threshold=5, n_bins=32, n_levels=8, max_exact_values=16, changes=True)


def _bills(n_rows: int = 1_500, seed: int = 0) -> pd.DataFrame:
    """Monthly balances of any sign that move little from month to month, some repeated, and unrelated noise."""
    rng = np.random.default_rng(seed)
    first = np.round(rng.normal(0.0, 1.0, n_rows) * 20_000 + rng.normal(15_000, 5_000, n_rows))
    second = first - np.round(rng.exponential(800.0, n_rows)) + np.round(rng.exponential(600.0, n_rows))
    repeated = rng.random(n_rows) < 0.1  # last month's balance again: "equal to" codes, no change coded
    second[repeated] = first[repeated]
    third = second + np.round(rng.normal(0.0, 700.0, n_rows))
    return pd.DataFrame({
        "first": first.astype(np.int64),
        "second": second.astype(np.int64),
        "third": third.astype(np.int64),
        "noise": rng.normal(0.0, 1_000.0, n_rows),
    })


def _kinds(table: pd.DataFrame) -> dict[str, ColumnKind]:
    return {c: ColumnKind.INTEGER if table[c].dtype.kind == "i" else ColumnKind.NUMERIC for c in table.columns}


def _fit(table: pd.DataFrame, settings: EncoderSettings = SETTINGS) -> TableEncoder:
    return TableEncoder.fit(table, _kinds(table), settings)


def _column(encoder: TableEncoder, name: str) -> NumberEncoder:
    column = encoder.encoders[encoder.names.index(name)]
    assert isinstance(column, NumberEncoder)
    return column


def _iqr(x: pd.Series | np.ndarray) -> float:
    low, high = np.nanquantile(np.asarray(x, dtype=np.float64), [0.25, 0.75])
    return float(high - low)


def _change_error(table: pd.DataFrame, decoded: pd.DataFrame) -> np.ndarray:
    """Per row, how far the decoded change from ``first`` to ``second`` lies from the real one."""
    real = (table["second"] - table["first"]).to_numpy(dtype=np.float64)
    return np.abs((decoded["second"] - decoded["first"]).to_numpy(dtype=np.float64) - real)


def test_changes_are_found_for_numbers_that_move_little_only() -> None:
    encoder = _fit(_bills())
    first, second = _column(encoder, "first").change, _column(encoder, "second").change
    assert first is not None and first.target == "second"
    assert second is not None and second.target == "third"  # the nearest earlier column leads, not the first
    assert _column(encoder, "third").change is None and _column(encoder, "noise").change is None
    assert [s.role for s in encoder.sub_columns if s.column == "first"] == ["bin", "level", "change"]
    assert encoder.change_sources == {1: 0, 2: 1}
    off = _fit(_bills(), replace(SETTINGS, changes=False))
    assert all(_column(off, name).change is None for name in off.names)
    assert len(off.sub_columns) == len(encoder.sub_columns) - 2


def test_positive_proportional_columns_keep_their_offsets_instead() -> None:
    rng = np.random.default_rng(1)
    base = np.exp(rng.normal(5.0, 0.4, 800))
    table = pd.DataFrame({"base": base, "double": base * 2.0 * np.exp(rng.normal(0.0, 0.02, 800))})
    encoder = _fit(table)
    assert _column(encoder, "double").offset is not None and _column(encoder, "base").change is None


def test_decoding_keeps_the_bin_and_the_change() -> None:
    """Decoded values keep their bin exactly, and move from the earlier column as the data did."""
    table = _bills()
    encoder = _fit(table)
    codes = encoder.encode(table)
    sub = encoder.change_sub(encoder.names.index("first"))
    # rows of "second" equal to their reference (an "equal to" code) or atoms have no change coded
    assert (codes[:, sub] > 0).mean() > 0.8
    decoded = encoder.decode(codes, np.random.default_rng(0))
    again = encoder.encode(decoded)
    # bins hold exactly; a target's level may move inside its bin towards where its change puts it
    targets = {encoder.names[c] for c in encoder.change_sources}
    kept = [s for s, sc in enumerate(encoder.sub_columns) if sc.role == "bin" or sc.role == "level" and
            sc.column not in targets]
    inside = np.ones(len(table), dtype=bool)
    for column in encoder.encoders:  # value protection clips what lies beyond the bins: those rows move
        inside &= table[column.name].between(column.edges[0], column.edges[-1] - 1).to_numpy()
    assert inside.mean() > 0.95
    np.testing.assert_array_equal(again[inside][:, kept], codes[inside][:, kept])
    # each row's month-to-month change comes back far closer than from two independent draws in the slices
    plain = _fit(table, replace(SETTINGS, changes=False))
    blurred = plain.decode(plain.encode(table), np.random.default_rng(0))
    errors = [_change_error(table, out)[inside] for out in (decoded, blurred)]
    print([float(np.mean(e)) for e in errors])
    assert np.mean(errors[0]) < 0.5 * np.mean(errors[1])


def test_draw_within_prefers_the_slice_then_the_bin() -> None:
    slices = np.array([0.0, 0.0, 10.0]), np.array([10.0, 10.0, 20.0])
    bins = np.array([0.0, -100.0, 10.0]), np.array([40.0, 60.0, 40.0])
    target = np.array([4.0, 51.0, 1.0]), np.array([5.0, 52.0, 2.0])
    out = draw_within(slices, bins, target, np.array([0.5, 0.5, 0.5]), whole=False)
    np.testing.assert_allclose(out[:2], [4.5, 51.5])  # inside the slice; outside it but inside the bin
    assert np.isnan(out[2])  # beyond both: the caller's own draw stands
    whole = draw_within(slices, bins, (np.array([4.0, 51.0, 1.0]), np.array([6.0, 53.0, 3.0])),
                        np.array([0.99, 0.5, 0.0]), whole=True)
    np.testing.assert_array_equal(whole, [5.0, 52.0, np.nan])


def test_a_fixed_value_has_a_change_code_only_when_its_target_is_fixed_too() -> None:
    table = _bills(600)
    encoder = _fit(table)
    c = encoder.names.index("first")
    sub = encoder.change_sub(c)
    known = np.zeros((len(table), len(encoder.names)), dtype=bool)
    known[:, c] = True
    assert (encoder.encode(table, known=known)[:, sub] == 0).all()
    known[:, encoder.names.index("second")] = True
    assert (encoder.encode(table, known=known)[:, sub] > 0).mean() > 0.8


def test_change_survives_saving() -> None:
    column = _column(_fit(_bills(600)), "second")
    state = column.to_state()
    loaded = NumberEncoder.from_state(state)
    assert loaded.change is not None and loaded.change.target == "third"
    np.testing.assert_array_equal(loaded.change.edges, column.change.edges)  # type: ignore[union-attr]
    assert Change.from_state({**state, "change_target": ""}) is None


@pytest.fixture(scope="module")
def bills() -> pd.DataFrame:
    return _bills(1_200, seed=3)


def _model(table: pd.DataFrame, **settings: object) -> ARGNGenerator:
    options = {"random_state": 0, "max_epochs": 12, "n_threads": 1, "show_progress": False, "number_changes": True}
    return ARGNGenerator(**{**options, **settings}).fit(table)


def test_a_fixed_earlier_columns_change_code_is_drawn_with_its_target(bills: pd.DataFrame) -> None:
    """With ``first`` fixed and ``second`` free, the change code that leads to ``second`` is drawn, not taken as 0."""
    model = _model(bills)
    encoder = model.encoder_
    seeds = bills.iloc[:600].reset_index(drop=True)
    known = np.zeros((len(seeds), len(encoder.names)), dtype=bool)
    known[:, encoder.names.index("first")] = True
    sub = encoder.change_sub(encoder.names.index("first"))
    known_codes = encoder.encode(seeds, known=known)
    assert (known_codes[:, sub] == 0).all()
    codes = sample_codes(model.network_, encoder, len(seeds), known_codes=known_codes, known=known, impute=False,
                         temperature=1.0, generator=torch.Generator().manual_seed(0))
    first = slice(int(encoder.first_sub[0]), sub)
    np.testing.assert_array_equal(codes[:, first], known_codes[:, first])  # the fixed cells stay as given
    assert (codes[:, sub] > 0).mean() > 0.5  # "second" is binned in most rows: a change is drawn for them
    rows = model.sample(seed_data=seeds[["first"]])
    assert (rows["first"] == seeds["first"]).all()


def test_change_models_are_reproducible_and_reload(bills: pd.DataFrame, tmp_path: Path) -> None:
    first, second = _model(bills), _model(bills)
    pd.testing.assert_frame_equal(first.sample(300, random_state=1), second.sample(300, random_state=1))
    path = tmp_path / "model"
    first.save(path)
    loaded = ARGNGenerator.load(path)
    pd.testing.assert_frame_equal(loaded.sample(300, random_state=1), first.sample(300, random_state=1))
