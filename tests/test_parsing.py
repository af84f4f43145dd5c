"""Text dates in one format, numbers with thousands separators, integer ids, and cells no kind can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.config import parse_config
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.io import read_table
from synth_pipeline.profile import TrainingProfile
from synth_pipeline.schema import Schema, apply_schema, infer_schema

DAYS = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(0, 500) * 3, unit="D")


def _table(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    return pd.DataFrame(
        {
            "customer": np.arange(1001, 1001 + rows),
            "when": [d.strftime("%d/%m/%Y") for d in days],
            "amount": [f"{v:,}" for v in rng.integers(1_000, 5_000_000, rows)],
            "plan": rng.choice(["basic", "plus", "pro"], rows),
        }
    )


def test_day_first_dates_are_read_in_their_one_format():
    text = pd.Series([d.strftime("%d/%m/%Y") for d in DAYS])
    schema = infer_schema(text.to_frame("when"))
    assert schema["when"].kind is ColumnKind.DATETIME and schema["when"].format == "%d/%m/%Y"
    parsed = apply_schema(text.to_frame("when"), schema)["when"]
    assert (parsed == pd.Series(DAYS)).all()  # no day/month swapped (pandas' guess reads 02/01 as February)


def test_iso_and_day_first_mixed_are_refused_naming_the_column_and_formats():
    mixed = [d.strftime("%Y-%m-%d") if i % 2 else d.strftime("%d/%m/%Y") for i, d in enumerate(DAYS)]
    with pytest.raises(InvalidDataError, match=r"column 'when' mixes date formats: ISO 8601 .*%d/%m/%Y"):
        infer_schema(pd.DataFrame({"when": mixed}))


def test_ambiguous_day_month_order_is_refused_until_declared():
    firsts = [d.strftime("%d/%m/%Y") for d in pd.date_range("2020-01-01", periods=12, freq="MS")]
    with pytest.raises(InvalidDataError, match=r"'when'.*%d/%m/%Y and as %m/%d/%Y.*declare its format"):
        infer_schema(pd.DataFrame({"when": firsts}))
    schema = infer_schema(pd.DataFrame({"when": firsts}), {"when": {"kind": "datetime", "format": "%m/%d/%Y"}})
    parsed = apply_schema(pd.DataFrame({"when": firsts}), schema)["when"]
    assert parsed.dt.day.tolist() == list(range(1, 13)) and set(parsed.dt.month) == {1}


def test_a_declared_format_wins_and_values_that_do_not_fit_it_are_refused():
    mixed = ["2020-01-31", "31/01/2020"] * 30
    with pytest.raises(InvalidDataError, match=r"'when'.*format '%d/%m/%Y' but 30 of 60 values do not fit"):
        infer_schema(pd.DataFrame({"when": mixed}), {"when": {"kind": "datetime", "format": "%d/%m/%Y"}})


def test_config_takes_the_long_and_the_short_form_of_a_column_override():
    config = parse_config(
        {
            "datasets": {
                "d": {
                    "source": {"path": "x.csv"},
                    "columns": {"when": {"kind": "datetime", "format": "%d/%m/%Y"}, "age": "integer"},
                }
            }
        }
    )
    columns = config.datasets["d"].columns
    assert columns["when"].kind is ColumnKind.DATETIME and columns["when"].format == "%d/%m/%Y"
    assert columns["age"].kind is ColumnKind.INTEGER and columns["age"].format is None
    # the short form dumps as before, so configs written before the long form keep their hash
    assert config.datasets["d"].model_dump(mode="json")["columns"]["age"] == "integer"
    for bad, message in [
        ({"kind": "integer", "format": "%d"}, "format applies to datetime columns only"),
        ({"kind": "datetime", "format": "dd/mm/yyyy"}, "is not a date format"),
        ({"kind": "datetime", "fmt": "%d"}, "unknown setting"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config({"datasets": {"d": {"source": {"path": "x.csv"}, "columns": {"when": bad}}}})


def test_thousands_separators_are_numbers_and_inconsistent_writing_is_refused():
    values = ["3,024,129", "12", "1,000", "987,654.5"] * 20
    schema = infer_schema(pd.DataFrame({"amount": values}))
    assert schema["amount"].kind is ColumnKind.NUMERIC
    parsed = apply_schema(pd.DataFrame({"amount": values}), schema)["amount"]
    assert parsed.tolist()[:4] == [3024129, 12, 1000, 987654.5]
    with pytest.raises(InvalidDataError, match=r"column 'amount' holds numbers written in more than one way"):
        infer_schema(pd.DataFrame({"amount": ["1,234", "1,5", "12"] * 20}))


@pytest.mark.parametrize("generator", ["copula", "argn"])
def test_dates_numbers_and_integer_ids_survive_fit_and_sample(generator, tmp_path):
    settings = {"max_epochs": 2} if generator == "argn" else {}
    table = _table()
    model = make_generator(generator, random_state=3, **settings).fit(table)
    assert model.schema_.kind("when") is ColumnKind.DATETIME and model.schema_.kind("amount") is ColumnKind.INTEGER
    rows = model.sample(50)
    assert pd.api.types.is_datetime64_dtype(rows["when"]) and rows["when"].notna().all()
    assert rows["when"].between(pd.Timestamp("2019-06-01"), pd.Timestamp("2023-01-01")).all()
    assert str(rows["amount"].dtype) == "Int64" and rows["amount"].between(0, 6_000_000).all()
    # the integer id is regenerated as integers, not as zero-padded strings
    assert str(rows["customer"].dtype) == "Int64"
    assert not rows.astype(str).apply(lambda c: c.str.fullmatch(r"0+\d+")).any().any()
    model.save(tmp_path / "m")
    again = type(model).load(tmp_path / "m").sample(50)
    pd.testing.assert_frame_equal(rows, again)


def test_csv_dates_and_separators_read_through_the_file_path(tmp_path):
    path = tmp_path / "t.csv"
    _table().to_csv(path, index=False)
    schema = infer_schema(read_table(path))
    assert schema.kind("when") is ColumnKind.DATETIME and schema["when"].format == "%d/%m/%Y"
    assert schema.kind("amount") is ColumnKind.INTEGER and schema.kind("customer") is ColumnKind.ID
    assert Schema.from_dict(schema.to_dict())["when"].format == "%d/%m/%Y"
    assert "format" not in schema.to_dict()["columns"][0]  # ordinary columns' schemas are unchanged


def test_the_profile_keeps_the_date_format_for_drift():
    table = _table()
    schema = infer_schema(table)
    profile = TrainingProfile.from_dict(TrainingProfile.from_table(table, schema).to_dict())
    assert profile.column("when").date_format == "%d/%m/%Y"


def _parquet(tmp_path, column: pa.Array) -> pd.DataFrame:
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"odd": column, "x": pa.array(range(len(column)))}), path)
    return read_table(path)


@pytest.mark.parametrize(
    "column, message",
    [
        (pa.array([[1, 2], [3], None, [4]]), "holds nested values"),
        (pa.array([{"a": 1}, {"a": 2}, None, {"a": 3}]), "holds nested values"),
        (pa.array([1_000_000, 2, None, 5], pa.duration("us")), "holds durations"),
        (pa.array([2**63 + 5, 1, 2, 3], pa.uint64()), "beyond the int64 range"),
    ],
    ids=["list", "struct", "duration", "uint64"],
)
def test_odd_parquet_columns_are_refused_naming_the_column(tmp_path, column, message):
    table = _parquet(tmp_path, column)
    with pytest.raises(InvalidDataError, match=rf"column 'odd'.*{message}"):
        infer_schema(table)
    with pytest.raises(InvalidDataError, match=rf"column 'odd'.*{message}"):
        make_generator("copula").fit(table)


def test_uint64_within_int64_and_declared_numeric_are_handled(tmp_path):
    small = _parquet(tmp_path, pa.array([5, 1, 2, 3] * 5, pa.uint64()))
    assert str(apply_schema(small, infer_schema(small))["odd"].dtype) == "Int64"
    big = _parquet(tmp_path, pa.array([2**63 + 5, 1, 2, 3], pa.uint64()))
    as_number = apply_schema(big, infer_schema(big, {"odd": "numeric"}))["odd"]
    assert as_number.iloc[0] == pytest.approx(2.0**63 + 5)
    as_id = apply_schema(big, infer_schema(big, {"odd": "id"}))["odd"]
    assert as_id.iloc[0] == str(2**63 + 5)


@pytest.mark.parametrize("name", ["copula", "argn"])
def test_a_model_fitted_with_a_declared_date_format_saves_and_loads(name, tmp_path):
    # the long form of a column_kinds override used to be saved as its Python repr, which the
    # saved model's own validation then refused
    table = _table()[["when", "plan"]]
    settings = {"max_epochs": 2} if name == "argn" else {}
    model = make_generator(
        name, random_state=0, column_kinds={"when": {"kind": "datetime", "format": "%d/%m/%Y"}}, **settings
    ).fit(table)
    model.save(tmp_path / "m")
    again = type(model).load(tmp_path / "m")
    assert again.get_params()["column_kinds"] == {"when": {"kind": "datetime", "format": "%d/%m/%Y"}}
    assert again.sample(20, random_state=1).equals(model.sample(20, random_state=1))
