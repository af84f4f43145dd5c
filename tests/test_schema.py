import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.schema import Schema, apply_schema, infer_schema


def test_infers_every_kind_with_reasons(churn):
    schema = infer_schema(churn)
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["customer_id"] is ColumnKind.ID
    assert kinds["gender"] is ColumnKind.CATEGORICAL
    assert kinds["senior_citizen"] is ColumnKind.BOOLEAN
    assert kinds["tenure_months"] is ColumnKind.INTEGER
    assert kinds["support_calls"] is ColumnKind.INTEGER  # whole numbers stored as float because of NaN
    assert kinds["monthly_charges"] is ColumnKind.NUMERIC
    assert kinds["signup_date"] is ColumnKind.DATETIME
    assert schema["monthly_charges"].has_missing and not schema["gender"].has_missing
    assert all(c.reason for c in schema.columns)


def test_text_columns_holding_numbers_dates_and_booleans():
    table = pd.DataFrame(
        {
            "n": ["1", "2", "3"] * 20,
            "x": ["1.5", "2.25", None] * 20,
            "d": ["2024-01-05", "2024-02-10", "2023-12-31"] * 20,
            "b": ["true", "False", "TRUE"] * 20,
            "row_id": np.arange(60),
        }
    )
    schema = infer_schema(table)
    assert [schema.kind(c) for c in table.columns] == [
        ColumnKind.INTEGER,
        ColumnKind.NUMERIC,
        ColumnKind.DATETIME,
        ColumnKind.BOOLEAN,
        ColumnKind.ID,
    ]
    canonical = apply_schema(table, schema)
    assert str(canonical["n"].dtype) == "Int64"
    assert canonical["d"].dtype == "datetime64[ns]"
    assert canonical["b"].tolist()[:3] == [True, False, True]


def test_codes_with_leading_zeros_stay_labels():
    table = pd.DataFrame({"zip": ["02134", "10001", "00501"] * 5})
    assert infer_schema(table).kind("zip") is ColumnKind.CATEGORICAL
    assert apply_schema(table, infer_schema(table))["zip"].tolist()[:3] == ["02134", "10001", "00501"]


def test_high_cardinality_numbers_are_not_ids_unless_consecutive():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"weight": rng.integers(10_000, 1_000_000, 500)})
    assert infer_schema(table).kind("weight") is ColumnKind.INTEGER


def test_overrides_win_and_are_checked(churn):
    schema = infer_schema(churn, {"support_calls": "categorical"})
    assert schema.kind("support_calls") is ColumnKind.CATEGORICAL
    assert schema["support_calls"].reason == "set in the configuration"
    with pytest.raises(ConfigError, match="unknown column.*'nope'"):
        infer_schema(churn, {"nope": "numeric"})
    with pytest.raises(ConfigError, match="unknown column kind 'floaty'"):
        infer_schema(churn, {"gender": "floaty"})
    with pytest.raises(InvalidDataError, match="'gender'.*non-numbers"):
        infer_schema(churn, {"gender": "numeric"})


def test_bad_tables_get_clear_errors():
    with pytest.raises(InvalidDataError, match="empty"):
        infer_schema(pd.DataFrame({"a": []}))
    with pytest.raises(InvalidDataError, match="'b' .*entirely missing"):
        infer_schema(pd.DataFrame({"a": [1, 2], "b": [None, None]}))
    with pytest.raises(InvalidDataError, match="'x'.*infinite"):
        apply_schema(pd.DataFrame({"x": [1.0, np.inf]}), infer_schema(pd.DataFrame({"x": [1.0, 2.5]})))
    with pytest.raises(InvalidDataError, match="no columns"):
        infer_schema(pd.DataFrame())


def test_constant_column_is_kept():
    schema = infer_schema(pd.DataFrame({"c": ["x"] * 10, "n": [5] * 10}))
    assert schema.kind("c") is ColumnKind.CATEGORICAL and schema.kind("n") is ColumnKind.INTEGER


def test_schema_round_trip(churn):
    schema = infer_schema(churn)
    again = Schema.from_dict(schema.to_dict())
    assert again.to_dict() == schema.to_dict()
    assert again.names == list(churn.columns)
