"""A drawn rare category is written as a made-up label of a frequent label's shape, never a training value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import EncoderSettings, fit_column
from synth_pipeline.generators.argn.encoders.base import RowDecoding
from synth_pipeline.generators.argn.encoders.made_up_labels import MadeUpLabels, shared_tokens
from tests.test_argn_rare_pool import _mostly_rare


def test_shared_tokens_are_kept_and_the_rest_take_fresh_tokens_of_their_shape():
    frequent = ["017 Ashoak Street", "120 Elmpine Street", "003 Ivyvale Street"]
    made = MadeUpLabels.fit(frequent, ["555 Rare Street"], np.random.default_rng(0))
    assert shared_tokens(frequent) == {"Street"}
    rng = np.random.default_rng(1)
    for _ in range(50):
        label = made.label("017 Ashoak Street", set(frequent), rng)
        number, word, street = label.split(" ")
        assert street == "Street" and len(number) == 3 and number.isdigit()
        assert word[0].isupper() and word[1:].islower() and word != "Ashoak"
        assert label not in frequent


def test_a_made_up_label_is_never_a_rare_or_frequent_training_label():
    # one-digit shapes: 9 candidates, 2 frequent and 6 rare, so only "x 9" may be written
    frequent = ["x 1", "x 2"]
    rare = [f"x {i}" for i in range(3, 9)]
    made = MadeUpLabels.fit(frequent, rare, np.random.default_rng(0))
    rng = np.random.default_rng(2)
    labels = {made.label("x 1", set(frequent), rng) for _ in range(200)}
    assert labels <= {"x 9", None} and "x 9" in labels
    assert "x 3" not in str(made.to_state())  # only keyed hashes of the rare labels are kept
    # every candidate taken: no label (the caller keeps its frequent stand-in)
    full = MadeUpLabels.fit(frequent, [f"x {i}" for i in range(3, 10)], np.random.default_rng(0))
    assert {full.label("x 1", set(frequent), rng) for _ in range(20)} == {None}


def test_only_text_categories_with_rare_values_make_labels_up():
    settings = EncoderSettings(rare_threshold=5, n_bins=8, n_levels=4, max_exact_values=0, made_up_labels=True)
    rng = np.random.default_rng(0)
    text = pd.Series(["a"] * 20 + ["b"] * 20 + ["c", "d"])
    numbers = pd.Series([1] * 20 + [2] * 20 + [3, 4])
    common = pd.Series(["a"] * 20 + ["b"] * 20)
    for values, expected in ((text, True), (numbers, False), (common, False)):
        encoder = fit_column(values.name or "c", ColumnKind.CATEGORICAL, values, settings)
        encoder.fit_in_context(values, np.zeros((len(values), 1), dtype=np.int64), [1], rng)
        assert (encoder.made_up is not None) is expected
    encoder = fit_column("c", ColumnKind.CATEGORICAL, text, settings)
    encoder.fit_in_context(text, np.zeros((len(text), 1), dtype=np.int64), [1], rng)
    codes = encoder.encode(pd.Series(["a", "c", "d", "b"]))
    uniform = np.array([0.1, 0.1, 0.9, 0.9])
    row = RowDecoding(codes, np.random.default_rng(3))
    written = encoder.decode_row(codes, uniform, None, row)
    assert written[0] == "a" and written[3] == "b"
    assert not set(written[1:3]) & {"a", "b", "c", "d"}  # made up: neither frequent nor a rare training value
    off = fit_column("c", ColumnKind.CATEGORICAL, text, EncoderSettings(rare_threshold=5, n_bins=8, n_levels=4,
                                                                         max_exact_values=0))
    off.fit_in_context(text, np.zeros((len(text), 1), dtype=np.int64), [1], rng)
    assert off.made_up is None  # the default: frequent stand-ins
    assert off.decode_row(codes, uniform, None, RowDecoding(codes, np.random.default_rng(3))).tolist() == [
        "a", "a", "b", "b"]


def test_argn_writes_rare_rows_as_made_up_labels_as_often_as_training_holds_rare_values(tmp_path):
    training = _mostly_rare(600, seed=0)  # 30% of the rows hold values seen once or twice
    model = ARGNGenerator(max_epochs=8, patience=2, n_threads=1, random_state=0, made_up_labels=True).fit(training)
    synthetic = model.sample(4000)
    made_up = ~synthetic["c"].isin(set(training["c"]))
    assert not synthetic["c"].str.startswith("rare").any()  # no rare training value is written
    assert 0.2 <= made_up.mean() <= 0.4
    assert 0.36 <= (synthetic["c"] == "common").mean() <= 0.56  # not inflated (training: 0.5; this short fit)
    model.save(tmp_path / "model")
    assert ARGNGenerator.load(tmp_path / "model").sample(500).equals(model.sample(500))
    # off (the default): the same network and codes, rare rows written as frequent stand-ins
    default = ARGNGenerator(max_epochs=8, patience=2, n_threads=1, random_state=0).fit(training).sample(4000)
    assert default["c"].isin(set(training["c"])).all()
    assert (default["c"] == synthetic["c"])[~made_up].all()
