"""The DCR share's second view (unit rows): ranks, and the share as the worst of both views (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.quality import evaluate
from synth_pipeline.quality.dcr_views import VIEW_NAME, edge_ranks, unit_row_tables
from synth_pipeline.schema import infer_schema
from tests.test_quality import make_table


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {"training": make_table(1500, 11), "holdout": make_table(1500, 12), "fresh": make_table(1500, 13)}


def test_a_value_just_above_a_mass_of_ties_ranks_above_the_mass():
    fitted = np.r_[np.zeros(900), np.arange(1.0, 101.0).repeat(1)]  # 90% zeros, then 1..100
    rank = edge_ranks(np.array([0.0, 0.5, 1.0, 50.0, 100.0, 250.0, -3.0]), fitted)
    assert rank[0] == 0.0 and rank[6] == 0.0  # the minimum, and below it
    assert rank[1] >= 0.89  # between 0 and 1: above the 90% of zeros, not inside them
    assert rank[1] < rank[2] < rank[3] < rank[4] == rank[5] == 1.0
    assert edge_ranks(np.array([3.0, 4.0]), np.array([3.0, 3.0])).tolist() == [0.0, 1.0]


def test_unit_rows_have_length_one_and_centred_labels(tables):
    schema = infer_schema(tables["training"])
    kinds = {c: schema.kind(c) for c in schema.names}
    frames = {"training": tables["training"], "holdout": tables["holdout"], "synthetic": tables["fresh"]}
    matrices, dims = unit_row_tables(schema.names, kinds, frames, np.random.default_rng(0))
    for x in matrices.values():
        assert np.allclose(np.linalg.norm(x, axis=1), 1.0)
    assert sum(len(d) for d in dims) == matrices["training"].shape[1]
    assert len(dims[schema.names.index("y")]) == 2  # rank and missing flag


def test_the_share_is_the_worst_of_both_views_and_never_below_the_rank_view(tables):
    report = evaluate(tables["training"], tables["holdout"], tables["fresh"], metrics={"distances"})
    d = report.distances
    views = {s.view for s in d.dcr_share_subsets}
    assert views == {"ranks", VIEW_NAME} and len(d.dcr_share_subsets) == 14
    ranks = max(s.dcr_share for s in d.dcr_share_subsets if s.view == "ranks")
    assert d.dcr_share == max(s.dcr_share for s in d.dcr_share_subsets) >= ranks
    assert abs(d.dcr_share - 0.5) < 0.05  # a fresh real sample: neither view reads a leak


def test_planted_training_copies_show_in_both_views(tables):
    training, fresh = tables["training"], tables["fresh"]
    leaky = fresh.copy()
    leaky.iloc[:300] = training.iloc[:300].to_numpy()  # 20% of the rows are training rows
    leaky = leaky.astype(fresh.dtypes.to_dict())
    d = evaluate(training, tables["holdout"], leaky, metrics={"distances"}).distances
    for view in ("ranks", VIEW_NAME):
        all_columns = next(s for s in d.dcr_share_subsets if s.view == view and s.group == "all")
        assert all_columns.dcr_share > 0.58, view
    assert d.dcr_share < 0.7
