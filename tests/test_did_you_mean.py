"""Errors that name an unknown column suggest the closest real one and list the valid choices."""

import pandas as pd
import pytest

from synth_pipeline.columns import did_you_mean
from synth_pipeline.config import parse_config
from synth_pipeline.constraints import RuleSet
from synth_pipeline.constraints.validation import check_rules
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.quality import evaluate
from synth_pipeline.schema import infer_schema
from synth_pipeline.split import split_holdout


def test_did_you_mean():
    assert did_you_mean("chrun", ["customer_id", "churn"]) == " (did you mean 'churn'?)"
    assert did_you_mean("Churn", ["churn"]) == " (did you mean 'churn'?)"
    assert did_you_mean("zzz", ["customer_id", "churn"]) == ""


@pytest.fixture(scope="module")
def copula(churn):
    return make_generator("copula", random_state=0).fit(churn)


def test_generator_errors_suggest_the_column(copula):
    with pytest.raises(ConfigError, match=r"rebalance column 'chrun'.*\(did you mean 'churn'\?\); choose one of: "):
        copula.sample(10, rebalance={"chrun": {"Yes": 0.5}})
    with pytest.raises(InvalidDataError, match=r"'contrac'.*\(did you mean 'contract'\?\); the model's columns are"):
        copula.sample(seed_data=pd.DataFrame({"contrac": ["One year"]}))


def test_schema_split_rules_evaluate_and_config_suggest_the_column(churn):
    with pytest.raises(ConfigError, match=r"'tenure_month'.*\(did you mean 'tenure_months'\?\)"):
        infer_schema(churn, {"tenure_month": "integer"})
    with pytest.raises(ConfigError, match=r"stratify: column 'chrun'.*\(did you mean 'churn'\?\); its columns are"):
        split_holdout(churn, fraction=0.5, stratify="chrun")
    rules = RuleSet.from_dicts([{"type": "range", "column": "tenure", "min": 0}])
    with pytest.raises(ConfigError, match=r"'tenure'.*\(did you mean 'tenure_months'\?\); its columns are"):
        check_rules(rules, infer_schema(churn))
    half = len(churn) // 2
    with pytest.raises(ConfigError, match=r"target 'chrun' is not a column \(did you mean 'churn'\?\)"):
        evaluate(churn.iloc[:half], churn.iloc[half:], churn.iloc[:half], target="chrun")
    config = parse_config({"datasets": {"c": {"source": {"path": "x.csv"}, "target": "chrun"}}})
    with pytest.raises(ConfigError, match=r"target: column 'chrun' is not in the source \(did you mean 'churn'\?\)"):
        config.datasets["c"].check_columns(list(churn.columns))
