import subprocess
import sys
from pathlib import Path

import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.config import load_config, parse_config
from synth_pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
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
        # gate thresholds outside their meaningful range would silently switch the gate off (issue 18, §5b)
        ({"gates": {"max_dcr_share": 1.5}}, r"gates\.max_dcr_share: threshold 1\.5 is outside .*0\.5 <= x < 1"),
        ({"gates": {"max_dcr_share": 1.0}}, r"gates\.max_dcr_share: threshold 1 is outside"),
        ({"gates": {"max_dcr_share": 0.2}}, r"gates\.max_dcr_share: threshold 0\.2 is outside"),
        ({"gates": {"min_accuracy_ratio": -1}}, r"gates\.min_accuracy_ratio: threshold -1 is outside .*0 < x <= 1"),
        ({"gates": {"min_accuracy_ratio": 0}}, r"gates\.min_accuracy_ratio: threshold 0 is outside"),
        ({"gates": {"min_accuracy_ratio": 1.2}}, r"gates\.min_accuracy_ratio: threshold 1\.2 is outside"),
        ({"gates": {"min_accuracy": {"threshold": 2, "blocking": True}}}, r"gates\.min_accuracy: threshold 2 is"),
        ({"gates": {"max_ims_training": -0.1}}, r"gates\.max_ims_training: threshold -0\.1 is outside .*0 <= x < 1"),
        ({"gates": {"max_ims_training": 1}}, r"gates\.max_ims_training: threshold 1 is outside"),
        ({"gates": {"max_discriminator_auc": 0.4}}, r"gates\.max_discriminator_auc: threshold 0\.4 is outside"),
        ({"gates": {"max_discriminator_auc": 1}}, r"gates\.max_discriminator_auc: threshold 1 is outside"),
        ({"gates": {"max_dcr_share": {"threshold": float("inf")}}}, r"gates\.max_dcr_share\.threshold: .*finite"),
        # wrong types: one line naming the key path
        ({"gates": {"max_dcr_share": "high"}}, r"gates\.max_dcr_share: must be a number .*got str"),
        ({"gates": {"max_dcr_share": True}}, r"gates\.max_dcr_share: must be a number .*got bool"),
        ({"gates": ["max_dcr_share"]}, r"datasets\.churn\.gates: must be a mapping of settings .*got list"),
        ({"holdout": 0.5}, r"datasets\.churn\.holdout: must be a mapping of settings .*got float"),
        ({"rules": "none"}, r"datasets\.churn\.rules: must be a list, got str"),
        ({"min_training_rows": 0}, r"datasets\.churn\.min_training_rows: Input should be greater than or equal to 1"),
        ({"min_training_rows": "few"}, r"datasets\.churn\.min_training_rows: Input should be a valid integer"),
        # generator settings are checked when the config loads, not at training time
        ({"generator": {"name": "argn", "settings": {"max_training_seconds": -5}}},
         r"datasets\.churn\.generator\.settings: generator 'argn': max_training_seconds must be greater than 0"),
        ({"generator": {"name": "argn", "settings": {"max_epochs": 2.5}}},
         r"generator\.settings: generator 'argn': max_epochs must be an integer"),
        ({"generator": {"name": "copula", "settings": "fast"}}, r"generator\.settings: must be a mapping .*got str"),
        ({"generator": {"name": "gan"}}, r"datasets\.churn\.generator\.name: unknown generator 'gan'; choose one"),
    ],
)
def test_bad_settings_are_named(change, message):
    data = {"datasets": {"churn": {**MINIMAL["datasets"]["churn"], **change}}}
    with pytest.raises(ConfigError, match=message) as caught:
        parse_config(data)
    assert "\n" not in str(caught.value)  # one line


def test_several_problems_are_listed_on_one_line():
    data = {"datasets": {"churn": {**MINIMAL["datasets"]["churn"], "seed": "x", "gates": {"max_dcr_share": 2}}}}
    two = r"^config is invalid: 2 problems: datasets\.churn\.seed: .*; datasets\.churn\.gates.*$"
    with pytest.raises(ConfigError, match=two):
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
    with pytest.raises(ConfigError, match=r"not valid YAML: .* \(line 1, column \d+\)$") as caught:
        load_config(tmp_path / "bad.yaml")
    assert "\n" not in str(caught.value)
    (tmp_path / "tag.yaml").write_text("datasets: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match=r"not valid YAML: could not determine a constructor .*line 1") as caught:
        load_config(tmp_path / "tag.yaml")
    assert "\n" not in str(caught.value)
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(tmp_path / "list.yaml")


def test_environment_variables_expand(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_TEST_DIR", str(tmp_path))
    config = parse_config({**MINIMAL, "warehouse": "${SYNTH_TEST_DIR}/w.duckdb", "private_dir": "$SYNTH_TEST_DIR/p"})
    assert config.warehouse == f"{tmp_path}/w.duckdb" and config.private_dir == f"{tmp_path}/p"


def test_an_unset_environment_variable_is_an_error_naming_it_and_the_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_UNSET_VAR", raising=False)
    with pytest.raises(ConfigError, match=r"warehouse: environment variable NOPE_UNSET_VAR is not set"):
        parse_config({**MINIMAL, "warehouse": "${NOPE_UNSET_VAR}/w.duckdb"})
    source = {"source": {"path": "data/${NOPE_UNSET_VAR}.csv"}}
    with pytest.raises(ConfigError, match=r"datasets\.churn\.source\.path: environment variable NOPE_UNSET_VAR"):
        parse_config({"datasets": {"churn": source}})
    regex = {"type": "regex", "column": "x", "pattern": "${NOPE_UNSET_VAR}"}
    rules = {**MINIMAL["datasets"]["churn"], "rules": [regex]}
    with pytest.raises(ConfigError, match=r"datasets\.churn\.rules\[0\]\.pattern: environment variable"):
        parse_config({"datasets": {"churn": rules}})
    with pytest.raises(ConfigError, match=r"warehouse: '\$\{}' is not an environment variable reference"):
        parse_config({**MINIMAL, "warehouse": "${}/w.duckdb"})
    (tmp_path / "c.yaml").write_text("warehouse: ${NOPE_UNSET_VAR}/w.duckdb\ndatasets: {a: {source: {simulate: {}}}}\n")
    unset = r"c\.yaml is invalid: warehouse: environment variable NOPE_UNSET_VAR is not set \(used as \$\{NOPE_\w+\}\)$"
    with pytest.raises(ConfigError, match=unset):
        load_config(tmp_path / "c.yaml")
    assert not list(tmp_path.glob("$*"))  # no directory named after the literal text
    # an unset bare $word stays as written (it may be part of a password); so does a $ naming nothing
    written = "w/pa$NOPE_UNSET_VAR.duckdb"
    assert parse_config({**MINIMAL, "warehouse": written}).warehouse == written
    dataset = {**MINIMAL["datasets"]["churn"], "rules": [{"type": "regex", "column": "x", "pattern": "^[0-9]+$"}]}
    assert parse_config({"datasets": {"churn": dataset}}).datasets["churn"].rules[0].pattern == "^[0-9]+$"


def test_generator_settings_are_checked_at_load_without_importing_torch(tmp_path):
    script = (
        "import sys\n"
        "from synth_pipeline.config import parse_config\n"
        "from synth_pipeline.errors import ConfigError\n"
        "data = {'datasets': {'c': {'source': {'simulate': {}}, 'generator': "
        "{'name': 'argn', 'settings': {'max_training_seconds': -5}}}}}\n"
        "try:\n    parse_config(data)\nexcept ConfigError as error:\n    print(error)\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert "max_training_seconds must be greater than 0" in done.stdout
    assert done.stdout.strip().endswith("False")


def test_config_hash_tracks_settings():
    a = parse_config(MINIMAL).datasets["churn"]
    b = parse_config({"datasets": {"churn": {**MINIMAL["datasets"]["churn"], "seed": 1}}}).datasets["churn"]
    assert a.config_hash() == parse_config(MINIMAL).datasets["churn"].config_hash() != b.config_hash()
