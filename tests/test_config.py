import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.config import load_config, parse_config
from synth_pipeline.errors import ConfigError

MINIMAL = {"datasets": {"churn": {"source": {"simulate": {"rows": 100}}, "generator": {"name": "copula"}}}}


def test_defaults_and_demo_config():
    config = parse_config(MINIMAL)
    dataset = config.datasets["churn"]
    assert dataset.name == "churn" and dataset.holdout.fraction == 0.5 and dataset.rows is None
    assert config.warehouse == ".synth/warehouse.duckdb"
    assert dataset.gates.max_dcr_share.threshold == 0.6
    demo = load_config("examples/demo.yaml")
    assert demo.datasets["churn"].target == "churn"
    assert load_config("examples/census.yaml").datasets["census"].source.path.endswith("census.csv.gz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"holdout": {"fraction": 1.5}}, r"datasets\.churn\.holdout\.fraction: Input should be less than 1"),
        ({"holdot": {}}, r"datasets\.churn\.holdot: unknown setting"),
        ({"rows": "many"}, r"datasets\.churn\.rows: Input should be a valid integer"),
        ({"generator": {"name": "gan"}}, r"unknown generator 'gan'"),
        ({"generator": {"name": "copula", "settings": {"epochs": 3}}}, r"no setting.*'epochs'"),
        ({"columns": {"age": "floaty"}}, r"columns\.age: unknown column kind 'floaty'"),
        ({"gates": {"max_dcr_shar": 0.5}}, r"gates\.max_dcr_shar: unknown setting"),
        ({"source": {"path": "a.csv", "sql": "select 1"}}, r"exactly one of path, sql, postgres, simulate"),
        ({"schedules": {"refresh": "daily"}}, r"not a 5-field cron"),
    ],
)
def test_bad_settings_are_named(change, message):
    data = {"datasets": {"churn": {**MINIMAL["datasets"]["churn"], **change}}}
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_dataset_names_become_identifiers_only_when_safe():
    with pytest.raises(ConfigError, match=r"datasets: invalid dataset name 'x; DROP TABLE snapshots'"):
        parse_config({"datasets": {"x; DROP TABLE snapshots": MINIMAL["datasets"]["churn"]}})
    with pytest.raises(ConfigError, match="at least one dataset"):
        parse_config({"datasets": {}})


def test_column_names_are_checked_against_the_source():
    dataset = parse_config(
        {"datasets": {"churn": {**MINIMAL["datasets"]["churn"], "target": "income", "columns": {"age": "integer"}}}}
    ).datasets["churn"]
    assert {name: o.kind for name, o in dataset.columns.items()} == {"age": ColumnKind.INTEGER}
    with pytest.raises(ConfigError, match=r"datasets\.churn\.columns\.age: column 'age' is not in the source"):
        dataset.check_columns(["income", "city"])
    with pytest.raises(ConfigError, match=r"datasets\.churn\.target: column 'income'"):
        dataset.check_columns(["age"])


def test_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("datasets: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(tmp_path / "list.yaml")


def test_environment_variables_expand(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_TEST_DIR", str(tmp_path))
    config = parse_config({**MINIMAL, "warehouse": "${SYNTH_TEST_DIR}/w.duckdb"})
    assert config.warehouse == f"{tmp_path}/w.duckdb"


def test_config_hash_tracks_settings():
    a = parse_config(MINIMAL).datasets["churn"]
    b = parse_config({"datasets": {"churn": {**MINIMAL["datasets"]["churn"], "seed": 1}}}).datasets["churn"]
    assert a.config_hash() == parse_config(MINIMAL).datasets["churn"].config_hash() != b.config_hash()
