"""Conditional generation of a rare class: rows of that class follow that class's distribution.

A simulated table where one class is seen 20 times in 3,000 rows and differs from the majority in
every other column; rebalancing (and seeding) on it must give rows that look like the class, not like
the majority, reproducibly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import EncoderSettings, TableEncoder
from synth_pipeline.generators.argn.rare_contexts import head_weights, value_weights

N_ROWS, N_RARE = 3000, 20
#: argn's own rare-class conditioning (the copula for rare conditions off, so argn draws those rows)
SETTINGS = {
    "max_epochs": 30, "patience": 3, "random_state": 5, "rare_value_weight": 20.0, "rare_value_guidance": 1.0,
    "rare_copula_count": 0,
}


def rare_class_table(seed: int = 0) -> pd.DataFrame:
    """``label`` is "rare" in 20 rows; those rows are mostly red, spend about twice as much and are older."""
    rng = np.random.default_rng(seed)
    rare = np.zeros(N_ROWS, dtype=bool)
    rare[rng.choice(N_ROWS, N_RARE, replace=False)] = True
    colour = np.where(
        rare,
        rng.choice(["red", "blue", "green"], N_ROWS, p=[0.9, 0.05, 0.05]),
        rng.choice(["red", "blue", "green"], N_ROWS, p=[0.1, 0.45, 0.45]),
    )
    amount = np.round(np.where(rare, 200.0, 100.0) + rng.normal(0, 15, N_ROWS), 2)
    age = np.where(rare, rng.integers(55, 70, N_ROWS), rng.integers(18, 60, N_ROWS))
    return pd.DataFrame({"colour": colour, "amount": amount, "age": age, "label": np.where(rare, "rare", "common")})


@pytest.fixture(scope="module")
def fitted() -> ARGNGenerator:
    return ARGNGenerator(**SETTINGS).fit(rare_class_table())


def _looks_like_the_rare_class(rows: pd.DataFrame) -> None:
    # the rare class: 90% red, amount ~200, age 55-69; the majority: 10% red, amount ~100, age 18-59
    assert (rows["colour"] == "red").mean() >= 0.6
    assert rows["amount"].median() >= 160
    assert rows["age"].median() >= 50


@pytest.mark.integration
def test_rebalancing_a_class_seen_20_times_follows_that_class(fitted: ARGNGenerator) -> None:
    rows = fitted.sample(600, rebalance={"label": {"rare": 1.0}}, random_state=1)
    assert (rows["label"] == "rare").all()
    _looks_like_the_rare_class(rows)
    # plain sampling keeps the class rare: its weight as context did not inflate its share
    assert (fitted.sample(3000, random_state=2)["label"] == "rare").mean() < 0.03


@pytest.mark.integration
def test_seeding_the_rare_class_follows_it_and_is_reproducible(fitted: ARGNGenerator) -> None:
    seeds = pd.DataFrame({"label": ["rare"] * 400})
    first = fitted.sample(seed_data=seeds, random_state=3)
    _looks_like_the_rare_class(first)
    pd.testing.assert_frame_equal(first, fitted.sample(seed_data=seeds, random_state=3))


def test_rare_values_weigh_more_only_as_context() -> None:
    table = rare_class_table()
    kinds = {
        "colour": ColumnKind.CATEGORICAL, "amount": ColumnKind.NUMERIC,
        "age": ColumnKind.INTEGER, "label": ColumnKind.CATEGORICAL,
    }
    settings = EncoderSettings(rare_threshold=5, n_bins=16, n_levels=4, max_exact_values=16)
    encoder = TableEncoder.fit(table, kinds, settings)
    codes = encoder.encode(table, equalities=False)
    subs, cells = value_weights(codes, encoder, max_weight=20.0)
    label_sub = int(encoder.first_sub[3])
    assert subs.tolist() == [label_sub]  # colour's values are all common
    rare_rows = np.array(table["label"] == "rare")
    assert np.allclose(cells[rare_rows, 0], 0.05 / (N_RARE / N_ROWS)) and np.all(cells[~rare_rows, 0] == 1)
    # an order with the label first: every other head sees it and weighs 7.5 in its rows, its own head 1
    n_sub = len(encoder.sub_columns)
    masks = torch.zeros((1, n_sub, n_sub))
    masks[0, :, label_sub] = 1.0
    masks[0, label_sub, label_sub] = 0.0
    weights = head_weights(torch.as_tensor(cells), torch.as_tensor(subs), masks, np.array([0, N_ROWS]))
    rare = torch.as_tensor(rare_rows)
    assert torch.all(weights[~rare] == 1) and torch.all(weights[rare][:, label_sub] == 1)
    others = [t for t in range(n_sub) if t != label_sub]
    assert torch.allclose(weights[rare][:, others], torch.tensor(7.5))
    assert value_weights(codes, encoder, max_weight=1.0) is None



def test_guidance_is_read_when_sampling(tmp_path) -> None:
    # rare_value_guidance is read when sampling: set_params changes a fitted model's rows, a saved copy keeps it
    assert "rare_value_guidance" in ARGNGenerator.settings_model.read_when_sampling
    model = ARGNGenerator(max_epochs=1, random_state=0, n_threads=1, rare_copula_count=0).fit(rare_class_table())
    request = {"rebalance": {"label": {"rare": 1.0}}, "random_state": 1}
    exact = model.sample(200, **request)
    guided = model.set_params(rare_value_guidance=3.0).sample(200, **request)
    assert not guided.equals(exact)
    loaded = type(model).load(model.save(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.sample(200, **request), guided)
