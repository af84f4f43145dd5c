"""Acceptance on the real census table (skipped when ../shared/data is absent)."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.constraints import RuleSet, infer_rules
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.quality import evaluate
from tests.conftest import shared_table

pytestmark = pytest.mark.integration  # the whole census table


@pytest.fixture(scope="module")
def census():
    source = pd.read_csv(shared_table("census.csv.gz"))
    order = np.random.default_rng(0).permutation(len(source))
    half = len(source) // 2
    training = source.iloc[order[:half]].reset_index(drop=True)
    holdout = source.iloc[order[half:]].reset_index(drop=True)
    return training, holdout, infer_rules(training)


def test_inferred_census_rules_include_the_education_pair_and_every_range(census):
    _, _, rules = census
    described = {r.describe() for r in rules}
    assert "education <-> education_num" in described
    ranges = {r.column for r in rules if r.type == "range"}
    assert ranges == {"age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"}


@pytest.mark.parametrize("n_training", [400, None])
def test_census_rules_hold_in_every_row_at_any_training_size(census, n_training):
    training, holdout, rules = census
    training = training.head(n_training) if n_training else training
    generator = GaussianCopulaGenerator(random_state=0, rules=rules).fit(training)
    synthetic = generator.sample(len(holdout), random_state=1)
    results = RuleSet(rules).results(synthetic)
    assert [(r.rule, r.violations) for r in results if r.violations] == []
    assert synthetic.groupby("education")["education_num"].nunique().max() == 1
    assert synthetic.groupby("education_num")["education"].nunique().max() == 1
    pairs = dict(synthetic[["education", "education_num"]].drop_duplicates().itertuples(index=False))
    source_pairs = dict(census[0][["education", "education_num"]].drop_duplicates().itertuples(index=False))
    assert pairs.items() <= source_pairs.items()


def test_census_rules_cost_no_accuracy(census):
    training, holdout, rules = census
    accuracy = {}
    for name, settings in (("plain", {}), ("rules", {"rules": rules})):
        generator = GaussianCopulaGenerator(random_state=0, **settings).fit(training)
        synthetic = generator.sample(len(holdout), random_state=1)
        report = evaluate(training, holdout, synthetic, metrics={"accuracy"}, random_state=0)
        accuracy[name] = report.accuracy.overall
    assert accuracy["plain"] - accuracy["rules"] <= 0.002, accuracy
