"""Rules checked against the table before training: unknown columns, kinds, contradictions, source violations."""

import pytest

from synth_pipeline.constraints.enforcement import RuleViolationWarning
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from tests.test_constraints import simulate_contracts


@pytest.fixture(scope="module")
def contracts():
    return simulate_contracts(1500)


# -- bad rules against the data: before training ------------------------------------------------
class CountingCopula(GaussianCopulaGenerator):
    name = "counting_copula_test"
    fits = 0

    def _fit(self, training, rng):
        CountingCopula.fits += 1
        super()._fit(training, rng)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "range", "column": "salary", "min": 0}, "names column 'salary'"),
        ({"type": "inequality", "left": "city", "op": "<", "right": "start"}, "type mismatch"),
        ({"type": "range", "column": "start", "min": 5}, "give the bound as a date"),
        ({"type": "sum", "total": "total", "parts": ["base", "employment"]}, "needs numeric columns"),
        ({"type": "regex", "column": "base", "pattern": "^1"}, "needs a text column"),
    ],
)
def test_rules_that_cannot_apply_fail_before_training(contracts, rule, message):
    generator = CountingCopula(random_state=0, rules=[rule])
    before = CountingCopula.fits
    with pytest.raises(ConfigError, match=message):
        generator.fit(contracts)
    assert CountingCopula.fits == before


@pytest.mark.parametrize(
    "rules",
    [
        [{"type": "range", "column": "base", "min": 0, "max": 10}, {"type": "range", "column": "base", "min": 20}],
        [{"type": "inequality", "left": "start", "op": "<", "right": "end"},
         {"type": "inequality", "left": "end", "op": "<=", "right": "start"}],
        [{"type": "range", "column": "base", "min": 50}, {"type": "range", "column": "extras", "max": 10},
         {"type": "inequality", "left": "base", "op": "<", "right": "extras"}],
    ],
)
def test_contradictory_rules_fail_before_training(contracts, rules):
    with pytest.raises(ConfigError, match="contradictory"):
        GaussianCopulaGenerator(rules=rules).fit(contracts)


def test_rule_the_source_breaks_warns_with_the_share_and_is_still_honoured(contracts):
    rules = [{"type": "range", "column": "base", "max": 80}]
    share = (contracts["base"] > 80).mean()
    with pytest.warns(RuleViolationWarning, match=rf"violated by {share:.2%} of the training table rows"):
        generator = GaussianCopulaGenerator(random_state=0, rules=rules).fit(contracts)
    synthetic, report = generator.sample(2000, random_state=1, return_report=True)
    assert synthetic["base"].max() <= 80
    assert synthetic["base"].quantile(0.9) < 80  # truncated by redraws, not piled onto the bound
    assert report["rows_redrawn"] > 0 and report["by_rule"]["base <= 80"]["rows_violating_after"] == 0


