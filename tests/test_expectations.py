"""Great Expectations: every rule kind fails when broken and passes when kept; no files, no network."""

import os

import pandas as pd
import pytest

from synth_pipeline.constraints import (
    RuleSet,
)
from synth_pipeline.constraints.expectations import validate_rules

GOOD = pd.DataFrame(
    {
        "id": ["C1", "C2", "C3", "C4"],
        "age": [20, 35, 50, None],
        "start": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
        "end": pd.to_datetime(["2024-01-05 00:00", "2024-02-02 00:00", "2024-03-09 00:00", "2024-04-01 12:00"]),
        "education": ["HS", "BA", "HS", "MA"],
        "education_num": [9, 13, 9, 14],
        "a": [1.0, 2.0, 0.5, 1.5],
        "b": [2.0, 0.0, 0.5, 1.0],
        "total": [3.0, 2.0, 1.0, 2.5],
        "employment": ["employed", "unemployed", "unemployed", "employed"],
        "income": [100.0, 0.0, None, 50.0],
    }
)

# (rule, a change to GOOD that breaks it)
GX_CASES = {
    "range": ({"type": "range", "column": "age", "min": 18, "max": 65}, ("age", 1, 70)),
    "range_exclusive": ({"type": "range", "column": "age", "min": 20, "min_inclusive": False, "max": 99},
                        None),  # GOOD already breaks this one (age 20)
    "date_range": ({"type": "range", "column": "start", "min": "2024-01-01", "max": "2024-12-31"},
                   ("start", 0, pd.Timestamp("2023-12-31"))),
    "not_null": ({"type": "not_null", "column": "education"}, ("education", 2, None)),
    "unique": ({"type": "unique", "column": "id"}, ("id", 3, "C1")),
    "allowed_values": ({"type": "allowed_values", "column": "education", "values": ["HS", "BA", "MA"]},
                       ("education", 0, "PhD")),
    "regex": ({"type": "regex", "column": "id", "pattern": "^C[0-9]+$"}, ("id", 1, "X2")),
    "dependency": ({"type": "dependency", "determinant": "education", "dependent": "education_num"},
                   ("education_num", 2, 10)),
    "dependency_mapping": ({"type": "dependency", "determinant": "education", "dependent": "education_num",
                            "mapping": {"HS": 9, "BA": 13}}, ("education_num", 1, 12)),
    "inequality": ({"type": "inequality", "left": "start", "op": "<", "right": "end"},
                   ("end", 1, pd.Timestamp("2024-02-01"))),
    "inequality_tolerance": ({"type": "inequality", "left": "b", "op": "<=", "right": "total", "tolerance": 0.6},
                             ("b", 3, 3.5)),  # 2.9 would still pass: within the tolerance
    "sum": ({"type": "sum", "total": "total", "parts": ["a", "b"]}, ("total", 0, 3.1)),
    "conditional": ({"type": "conditional", "if": {"column": "employment", "equals": "unemployed"},
                     "then": {"column": "income", "in": [0, None]}}, ("income", 2, 10.0)),
}


@pytest.mark.parametrize("case", list(GX_CASES))
def test_each_rule_kind_fails_great_expectations_when_broken_and_passes_when_kept(case):
    rule, change = GX_CASES[case]
    good = GOOD.copy()
    if change is None:  # the compliant table is GOOD without its offending row
        broken, good = good, good.iloc[1:].reset_index(drop=True)
    else:
        broken = good.copy()
        column, row, value = change
        broken[column] = broken[column].astype(object) if value is None or isinstance(value, str) else broken[column]
        broken.loc[row, column] = value
    [passed] = validate_rules(good, [rule])
    assert passed.passed and passed.success_share == 1.0 and passed.expectation
    [failed] = validate_rules(broken, [rule])
    assert not failed.passed and failed.violations >= 1 and failed.success_share < 1
    # the pandas check (used by enforcement and the QA report) agrees with GX
    [pandas_result] = RuleSet([rule]).results(broken)
    assert pandas_result.violations >= 1


def test_custom_kinds_use_custom_expectations_and_builtins_the_builtins():
    results = validate_rules(GOOD, [rule for rule, _ in GX_CASES.values() if rule["type"] != "range"
                                    or "min_inclusive" not in rule])
    by_type = {}
    for r in results:
        by_type.setdefault(r.type, set()).add(r.expectation)
    assert by_type["dependency"] == {"expect_column_values_to_follow_dependency"}
    assert by_type["sum"] == {"expect_column_sum_to_match_total"}
    assert by_type["conditional"] == {"expect_conditional_rule_to_hold"}
    assert by_type["inequality"] == {"expect_column_pair_values_a_to_be_greater_than_b",
                                     "expect_column_pair_inequality_with_tolerance"}
    assert by_type["range"] == {"expect_column_values_to_be_between"}
    assert by_type["regex"] == {"expect_column_values_to_match_regex"}


def test_great_expectations_leaves_no_files_and_stays_offline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = validate_rules(GOOD, [rule for rule, _ in GX_CASES.values()])
    assert len(results) == len(GX_CASES)
    assert list(tmp_path.iterdir()) == []
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"


