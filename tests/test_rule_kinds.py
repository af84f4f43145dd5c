"""Rule kinds: YAML and Python agree, bad declarations name the rule and the field, a new kind is one class."""

from typing import Literal

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from synth_pipeline.columns import NUMBER_KINDS, to_numbers
from synth_pipeline.config import DatasetConfig
from synth_pipeline.constraints import (
    ConditionalRule,
    DependencyRule,
    InequalityRule,
    RangeRule,
    RuleSet,
    SumRule,
)
from synth_pipeline.constraints.enforcement import RuleViolationWarning
from synth_pipeline.constraints.expectations import validate_rules
from synth_pipeline.constraints.rules import RULE_KINDS, register_rule_kind
from synth_pipeline.constraints.rules.base import ColumnRule, RuleRows
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.schema import Schema
from tests.test_constraints import simulate_contracts


# -- declaring rules ------------------------------------------------------------------------------
def test_yaml_round_trip_and_python_objects_agree():
    from_python = RuleSet(
        [
            RangeRule(column="age", min=0, max=120, max_inclusive=False),
            DependencyRule(determinant="zip", dependent="city"),
            InequalityRule(left="start", op="<", right="end", tolerance=0.5),
            SumRule(total="t", parts=["a", "b", "c"]),
            ConditionalRule.model_validate(
                {"if": {"column": "employment", "equals": "unemployed"}, "then": {"column": "income", "in": [0, None]}}
            ),
        ]
    )
    text = from_python.to_yaml(header="reviewed by a person")
    assert text.startswith("# reviewed by a person\n# age in [0, 120)\n")
    assert "# if employment = 'unemployed' then income in {0, null}" in text
    assert RuleSet.from_yaml(text) == from_python
    assert RuleSet.from_dicts(from_python.to_dicts()) == from_python


def test_bad_declarations_name_the_rule_and_the_field():
    with pytest.raises(ConfigError, match=r"rule 2: 'type' must be one of"):
        RuleSet.from_yaml("- {type: range, column: a, min: 0}\n- {type: ranges, column: a}")
    with pytest.raises(ConfigError, match=r"rule 1 mx: unknown field"):
        RuleSet.from_yaml("- {type: range, column: a, mx: 3}")
    with pytest.raises(ConfigError, match="is empty"):
        RuleSet.from_yaml("- {type: range, column: a, min: 3, max: 1}")
    with pytest.raises(ConfigError, match="exactly one of"):
        RuleSet.from_yaml("- {type: conditional, if: {column: a}, then: {column: b, is_null: true}}")
    with pytest.raises(ConfigError, match="does not compile"):
        RuleSet.from_yaml("- {type: regex, column: a, pattern: '('}")




# -- a new rule kind is one class -----------------------------------------------------------------
class MultipleOfRule(ColumnRule):
    """A kind defined only here: values of ``column`` are whole multiples of ``step``."""

    type: Literal["multiple_of"] = "multiple_of"
    step: float = Field(gt=0)

    def describe(self) -> str:
        return f"{self.column} is a multiple of {self.step:g}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = to_numbers(df[self.column])
        applies = ~np.isnan(x)
        with np.errstate(invalid="ignore"):
            off = np.abs(x / self.step - np.round(x / self.step)) > 1e-9
        return applies, applies & off

    def check_kinds(self, schema: Schema, where: str) -> None:
        if schema.kind(self.column) not in NUMBER_KINDS:
            raise ConfigError(f"{where}: a multiple_of needs a numeric column")

    def repair(self, cells: RuleRows) -> np.ndarray:
        mask = cells.free(self.column)
        x = to_numbers(cells.rows[self.column])[mask]
        cells.set_numbers(self.column, mask, np.round(x / self.step) * self.step)
        return mask


@pytest.fixture
def multiple_of():
    register_rule_kind(MultipleOfRule)
    yield MultipleOfRule
    del RULE_KINDS["multiple_of"]


def test_a_new_rule_kind_is_parsed_and_validated_through_its_class(multiple_of):
    rules = RuleSet.from_yaml("- {type: multiple_of, column: base, step: 5}")
    assert rules[0] == MultipleOfRule(column="base", step=5)
    assert rules.to_dicts() == [{"type": "multiple_of", "column": "base", "step": 5.0}]
    config = DatasetConfig(source={"path": "contracts.csv"}, rules=rules.to_dicts())
    assert config.rules == list(rules)
    with pytest.raises(ConfigError, match=r"rule 1 step: Input should be greater than 0"):
        RuleSet.from_yaml("- {type: multiple_of, column: base, step: 0}")
    with pytest.raises(ConfigError, match=r"'type' must be one of .*multiple_of"):
        RuleSet.from_yaml("- {type: multiple, column: base}")
    with pytest.raises(ConfigError, match="a multiple_of needs a numeric column"):
        GaussianCopulaGenerator(rules=[{"type": "multiple_of", "column": "city", "step": 5}]).fit(
            simulate_contracts(300))


def test_a_new_rule_kind_is_enforced_saved_and_checked_by_great_expectations(multiple_of, tmp_path):
    rules = [{"type": "multiple_of", "column": "base", "step": 5}]
    with pytest.warns(RuleViolationWarning):  # the source's base is not on multiples of 5
        generator = GaussianCopulaGenerator(random_state=0, rules=rules).fit(simulate_contracts(600))
    synthetic, report = generator.sample(400, random_state=1, return_report=True)
    assert len(synthetic) == 400 and (synthetic["base"] % 5 == 0).all()
    assert report["rows_repaired"] > 0 and report["by_rule"]["base is a multiple of 5"]["rows_violating_after"] == 0
    generator.save(tmp_path / "model")
    loaded = Generator.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.sample(100, random_state=2), generator.sample(100, random_state=2))
    [kept] = validate_rules(synthetic, rules)
    assert kept.passed and kept.expectation == "expect_multiple_of_rule_to_hold"
    broken = synthetic.copy()
    broken.loc[[0, 3], "base"] = 7.5
    [failed] = validate_rules(broken, rules)
    assert failed.violations == 2 and not failed.passed
