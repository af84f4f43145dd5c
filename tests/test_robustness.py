"""A subset of the robustness probes (benchmarks/robustness.py, issue 18), so CI keeps them true.

Each probe runs the real command line in a subprocess on inputs it generates in a temporary directory
and must end in the outcome it declares (a one-line error, a blocking gate, a correct publish, or
published versions left intact), with its post-conditions (no real row published, no planted value in a
report). The whole set: ``python benchmarks/robustness.py``.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import robustness  # noqa: E402, F401 - registers every probe
from robustness_harness import PROBES, CliResult, classify, execute  # noqa: E402

# The probes that pass on main (the others are listed by the benchmark's own run).
CI_PROBES = [
    # bad configs, files and tables
    "config_missing_file",
    "unknown_dataset_option",
    "gate_dcr_share_above_one",
    "unset_environment_variable",
    "yaml_python_tag",
    "csv_unterminated_quote",
    "two_row_source",
    "mixed_date_formats",
    "thousands_separators",
    "integer_id_keeps_type",
    "huge_cardinality_text",
    # SQL sources
    "sql_attach_warehouse",
    "sql_copy_to_file",
    "sql_read_etc_passwd",
    "sql_valid_with_semicolon_and_comment",
    # models and sampling
    "tampered_model_json_truncated",
    "tampered_model_schema_removed_resealed",
    "sample_missing_model_dir",
    "sample_untampered_model",
    "sample_rows_zero",
    # concurrency, faults, warehouses
    "two_concurrent_runs_different_seeds",
    "sigkill_after_catalog_written",
    "read_only_warehouse_directory",
    # injection
    "html_in_names_and_values",
    "sql_looking_column_names",
    # value protection (issue 18, section 5)
    "planted_unique_category",
    "ten_digit_random_ints",
    "value_seen_once_in_small_counts",
    "inferred_rules_min_max",
    "sequential_ids_regenerated",
]

BY_NAME = {p.name: p for p in PROBES}


@pytest.mark.integration
@pytest.mark.parametrize("name", CI_PROBES)
def test_probe(name):
    result = execute(BY_NAME[name])
    assert result.passed, result.line()


def cli(rc, stderr="", stdout="", command="run"):
    return CliResult([command, "x.yaml"], rc, stdout, stderr, 0.1)


def test_classification_of_what_a_command_printed():
    assert classify(cli(2, "error: datasets.d.rows: Input should be a valid integer\n"), ["rows"]) == "error"
    assert classify(cli(2, "error: bad thing\n"), ["rows"]) == "error(does not name 'rows')"
    assert classify(cli(2, "error: config is invalid:\n  rows: wrong\n")) == "error(2 lines)"
    assert classify(cli(1, 'Traceback (most recent call last):\n  File "x"\nKeyError: 1\n')) == "crash(rc=1, traceback)"
    assert classify(cli(1, "d: NOT published: a blocking quality gate failed\n")) == "blocked"
    assert classify(cli(0, stdout="d: published version 3 to w\n")) == "published"
    assert classify(cli(0, command="sample")) == "ok"
    assert classify(cli(None)) == "timeout"


def test_every_probe_declares_known_outcomes():
    known = {"error", "blocked", "published", "ok", "intact"}
    assert len(BY_NAME) == len(PROBES) >= 60
    assert all(set(p.expect) <= known for p in PROBES)
