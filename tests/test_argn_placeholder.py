"""argn never returns its pooled rare code's name: a column with no frequent value is regenerated, not learned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import RARE_LABEL, EncoderSettings, fit_column


def _all_rare_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # 400 rows, 200 labels seen twice each: below the default rare threshold (5), and not near-unique either
    labels = [f"shop {i // 2}" for i in range(rows)]
    return pd.DataFrame(
        {
            "shop": rng.permutation(labels),
            "visits": rng.integers(0, 40, rows),
            "segment": rng.choice(["a", "b", "c"], rows),
        }
    )


def test_a_column_whose_every_value_is_rare_is_regenerated_not_published_as_a_placeholder():
    table = _all_rare_table()
    model = ARGNGenerator(random_state=0, max_epochs=2).fit(table)
    assert model.schema_.kind("shop") is ColumnKind.ID
    assert "every value is rare" in model.schema_["shop"].reason
    assert model.schema_.kind("segment") is ColumnKind.CATEGORICAL  # ordinary columns are learned as before
    rows = model.sample(1000, random_state=1)
    assert RARE_LABEL not in set(rows["shop"]) and rows["shop"].notna().all()
    assert rows["shop"].is_unique  # fresh ids, one per row (that they avoid real values is the id rules' part)
    assert RARE_LABEL not in set(rows["segment"].astype(str))


def test_the_encoder_refuses_a_column_with_nothing_it_may_draw():
    values = pd.Series([f"v{i}" for i in range(20)], dtype=object)
    settings = EncoderSettings(rare_threshold=3, n_bins=16, n_levels=8, max_exact_values=20)
    with pytest.raises(InvalidDataError, match=r"column 'c': every value is rare"):
        fit_column("c", ColumnKind.CATEGORICAL, values, settings)


def test_rare_cells_in_seed_data_decode_to_real_cells_never_to_the_placeholder():
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"city": ["Oslo"] * 150 + ["Rome"] * 148 + ["Tiny", "Tinier"], "n": rng.integers(0, 9, 300)})
    model = ARGNGenerator(random_state=0, max_epochs=2).fit(table)
    rows = model.sample(seed_data=pd.DataFrame({"n": [1, 2, 3] * 100}))
    assert RARE_LABEL not in set(rows["city"]) and set(rows["city"]) <= {"Oslo", "Rome"}
    imputed = model.impute(pd.DataFrame({"city": ["Tiny", None, "Oslo"], "n": [None, 1, None]}))
    assert imputed["city"].tolist()[0] == "Tiny" and imputed["city"].tolist()[1] in {"Oslo", "Rome"}
