"""Rules honoured in generation: the contract table, enforcement (derivation, redraws, repair), the CLI."""

import warnings

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.cli import main
from synth_pipeline.constraints import (
    RuleSet,
)
from synth_pipeline.constraints.enforcement import RuleViolationWarning, SampleReport
from synth_pipeline.constraints.rules import series_keys
from synth_pipeline.errors import ConstraintViolationError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.schema import apply_schema

EDUCATION = {"HS-grad": 9, "Some-college": 10, "Bachelors": 13, "Masters": 14, "Doctorate": 16, "11th": 7}


def simulate_contracts(n: int, seed: int = 0) -> pd.DataFrame:
    """Dates with start < end, a sum, a conditional, a 1:1 and a many:1 dependency."""
    rng = np.random.default_rng(seed)
    education = rng.choice(list(EDUCATION), n, p=[0.35, 0.25, 0.2, 0.1, 0.04, 0.06])
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    length = rng.gamma(2.0, 40.0, n).round() + 1
    base = rng.gamma(3.0, 20.0, n).round(2)
    extras = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(1.5, 8.0, n).round(2))
    employment = rng.choice(["employed", "self-employed", "unemployed"], n, p=[0.6, 0.25, 0.15])
    income = np.where(employment == "unemployed", 0.0, (rng.lognormal(10, 0.4, n) + 2000 * length / 80).round(-1))
    city = rng.choice(["Oslo", "Bergen", "Rome", "Milan", "Lyon"], n)
    country = pd.Series(city).map({"Oslo": "NO", "Bergen": "NO", "Rome": "IT", "Milan": "IT", "Lyon": "FR"})
    return pd.DataFrame(
        {
            "education": education,
            "education_num": pd.Series(education).map(EDUCATION).to_numpy(),
            "city": city,
            "country": country.to_numpy(),
            "start": start,
            "end": start + pd.to_timedelta(length, unit="D"),
            "base": base,
            "extras": extras,
            "total": (base + extras).round(2),
            "employment": employment,
            "income": income,
        }
    )


CONTRACT_RULES = [
    {"type": "dependency", "determinant": "education", "dependent": "education_num", "one_to_one": True},
    {"type": "dependency", "determinant": "city", "dependent": "country"},
    {"type": "inequality", "left": "start", "op": "<", "right": "end"},
    {"type": "sum", "total": "total", "parts": ["base", "extras"], "tolerance": 1e-6},
    {
        "type": "conditional",
        "if": {"column": "employment", "equals": "unemployed"},
        "then": {"column": "income", "in": [0, None]},
    },
    {"type": "range", "column": "income", "min": 0},
    {"type": "range", "column": "base", "min": 0, "max": 400},
]


@pytest.fixture(scope="module")
def contracts():
    return simulate_contracts(1500)


@pytest.fixture(scope="module")
def fitted(contracts):
    return GaussianCopulaGenerator(random_state=0, rules=CONTRACT_RULES).fit(contracts)


def assert_all_hold(rules, table):
    results = RuleSet.from_dicts(rules).results(table) if not isinstance(rules, RuleSet) else rules.results(table)
    broken = [(r.rule, r.violations, r.examples) for r in results if r.violations]
    assert not broken, broken


# -- enforcement --------------------------------------------------------------------------------
def test_dates_sum_conditional_and_dependencies_hold_in_every_row(contracts, fitted):
    assert fitted.sample(5, random_state=1).dtypes.equals(apply_schema(contracts, fitted.schema_).dtypes)
    synthetic, report = fitted.sample(3000, random_state=5, return_report=True)
    assert len(synthetic) == 3000
    assert_all_hold(CONTRACT_RULES, synthetic)
    assert (synthetic["end"] > synthetic["start"]).all()
    assert synthetic["start"].dt.normalize().eq(synthetic["start"]).all()  # still whole days
    # derived columns are rebuilt, not learned: the model never saw them
    assert "education_num" not in fitted.enforcer_.model_columns and "total" not in fitted.enforcer_.model_columns
    # and the distributions stay close to the source
    assert synthetic["employment"].value_counts(normalize=True)["unemployed"] == pytest.approx(0.15, abs=0.04)
    gap = (synthetic["end"] - synthetic["start"]).dt.days
    source_gap = (contracts["end"] - contracts["start"]).dt.days
    assert gap.median() == pytest.approx(source_gap.median(), rel=0.2)
    assert report["rows"] == 3000 and report["rows_violating_after"] == 0
    assert set(report["by_rule"]) == {r.label for r in fitted.rules_}


def test_seeded_sampling_maps_a_derived_column_to_its_determinant(fitted):
    seed = pd.DataFrame({"education_num": [16, 9, 13, 13], "country": ["NO", "IT", "FR", "NO"]})
    synthetic = fitted.sample(seed_data=seed, random_state=2)
    assert synthetic["education"].tolist() == ["Doctorate", "HS-grad", "Bachelors", "Bachelors"]
    assert synthetic["country"].tolist() == ["NO", "IT", "FR", "NO"]
    assert synthetic.loc[0, "city"] in ("Oslo", "Bergen") and synthetic.loc[2, "city"] == "Lyon"
    assert_all_hold(CONTRACT_RULES, synthetic)


def test_seeded_larger_side_of_an_inequality_is_kept_and_honoured(fitted):
    seed = pd.DataFrame({"end": pd.to_datetime(["2021-02-01"] * 50)})
    synthetic = fitted.sample(seed_data=seed, random_state=3)
    assert (synthetic["end"] == pd.Timestamp("2021-02-01")).all()
    assert (synthetic["start"] < synthetic["end"]).all()


def test_seed_that_contradicts_a_rule_is_refused(fitted):
    with pytest.raises(ConstraintViolationError, match="breaks the rule education <-> education_num"):
        fitted.sample(seed_data=pd.DataFrame({"education": ["Bachelors"], "education_num": [9]}))
    with pytest.raises(ConstraintViolationError, match="no value of 'education' seen in training maps to it"):
        fitted.sample(seed_data=pd.DataFrame({"education_num": [3]}))


def test_rebalance_and_impute_honour_the_rules(contracts, fitted):
    rebalanced = fitted.sample(1000, rebalance={"employment": {"unemployed": 0.6}}, random_state=4)
    assert (rebalanced["employment"] == "unemployed").mean() == pytest.approx(0.6, abs=0.01)
    assert_all_hold(CONTRACT_RULES, rebalanced)
    holes = contracts.head(300).copy()
    rng = np.random.default_rng(0)
    for column in ("education", "education_num", "end", "total", "income", "country"):
        holes.loc[rng.random(len(holes)) < 0.3, column] = None
    filled = fitted.impute(holes, random_state=0)
    observed = holes.notna()
    assert filled.notna().all().all()
    for column in holes.columns:
        kept = observed[column]
        assert (series_keys(filled.loc[kept, column]) == series_keys(holes.loc[kept, column])).all(), column
    assert_all_hold(CONTRACT_RULES, filled)


def test_rules_survive_save_and_load(tmp_path, fitted):
    fitted.save(tmp_path / "model")
    loaded = Generator.load(tmp_path / "model")
    assert loaded.rules_ == fitted.rules_ and loaded.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(loaded.sample(400, random_state=9), fitted.sample(400, random_state=9))


def test_unrepairable_blocking_rule_raises_a_clear_error(contracts):
    rules = [{"type": "regex", "column": "city", "pattern": "^O"}]  # only Oslo complies, and rows must vary
    generator = GaussianCopulaGenerator(random_state=0, rules=rules)
    with pytest.warns(RuleViolationWarning):
        generator.fit(contracts)
    generator.enforcer_.max_rounds = 1
    with pytest.raises(ConstraintViolationError, match=r"city matches /\^O/: \d+ row"):
        generator.sample(500)
    relaxed = GaussianCopulaGenerator(random_state=0, rules=[{**rules[0], "blocking": False}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuleViolationWarning)
        relaxed.fit(contracts)
    # a warning rule: redraws try, leftovers are reported
    synthetic, report = relaxed.sample(600, random_state=1, return_report=True)
    leftover = int((synthetic["city"] != "Oslo").sum())
    assert leftover < 30 and report["rows_violating_after"] == leftover


@pytest.mark.integration
def test_flagship_generator_honours_the_rules_without_its_own_code(contracts):
    generator = make_generator("argn", random_state=0, rules=CONTRACT_RULES, max_training_seconds=6, max_epochs=8)
    generator.fit(contracts.head(800))
    synthetic = generator.sample(1500, random_state=1)
    assert_all_hold(CONTRACT_RULES, synthetic)
    seeded = generator.sample(seed_data=pd.DataFrame({"education_num": [14] * 20}), random_state=2)
    assert (seeded["education"] == "Masters").all()


def test_infer_rules_setting_infers_from_training_and_enforces(contracts):
    generator = GaussianCopulaGenerator(random_state=0, infer_rules=True).fit(contracts.head(400))
    assert len(generator.rules_) > 15
    assert_all_hold(generator.rules_, generator.sample(2000, random_state=0))



# -- command line ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_cli_infers_rules_and_fits_with_them(tmp_path, contracts, capsys):
    data = tmp_path / "contracts.csv"
    contracts.head(600).to_csv(data, index=False)
    assert main(["-q", "rules", "infer", "--data", str(data), "--out", str(tmp_path / "rules.yaml")]) == 0
    rules = RuleSet.from_yaml(tmp_path / "rules.yaml")
    assert "education <-> education_num" in {r.describe() for r in rules}
    assert main(["-q", "fit", "--data", str(data), "--model-dir", str(tmp_path / "m"),
                 "--rules", str(tmp_path / "rules.yaml")]) == 0
    assert f"honours {len(rules)} rules" in capsys.readouterr().out
    assert main(["-q", "sample", "--model-dir", str(tmp_path / "m"), "--rows", "500",
                 "--out", str(tmp_path / "s.csv")]) == 0
    check = ["-q", "rules", "check", "--rules", str(tmp_path / "rules.yaml"), "--data"]
    assert main([*check, str(tmp_path / "s.csv")]) == 0
    broken = pd.read_csv(tmp_path / "s.csv")
    broken.loc[0, "education_num"] = 99
    broken.to_csv(tmp_path / "broken.csv", index=False)
    assert main([*check, str(tmp_path / "broken.csv")]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["-q", "fit", "--data", str(data), "--model-dir", str(tmp_path / "m2"), "--infer-rules"]) == 0
    assert Generator.load(tmp_path / "m2").rules_ == rules


def test_chains_uniqueness_missing_values_and_batches(tmp_path):
    rng = np.random.default_rng(0)
    n = 1200
    a = rng.integers(0, 50, n)
    b = a + rng.integers(1, 20, n)
    tags = rng.choice(["p", "q", "r", None], n, p=[0.3, 0.3, 0.3, 0.1])
    table = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": b + rng.integers(1, 20, n),
            "tag": tags,
            "code": pd.Series(tags).map({"p": "P", "q": "Q", "r": "R"}).fillna("NONE").to_numpy(),
            "score": (rng.permutation(n) * 1.5).astype(float),
            "note": np.where(rng.random(n) < 0.2, None, rng.choice(["aa", "bb"], n)),
            "cat": rng.choice(["u", "v", "w"], n),
        }
    )
    rules = [
        {"type": "inequality", "left": "a", "op": "<", "right": "b"},
        {"type": "inequality", "left": "b", "op": "<", "right": "c"},
        {"type": "dependency", "determinant": "tag", "dependent": "code", "one_to_one": True},
        {"type": "unique", "column": "score"},
        {"type": "not_null", "column": "note"},  # the source has 20% missing
        {"type": "allowed_values", "column": "cat", "values": ["u", "v"]},  # the source has w too
    ]
    with pytest.warns(RuleViolationWarning):
        generator = GaussianCopulaGenerator(random_state=0, rules=rules).fit(table)
    assert generator.enforcer_.describe()[1:] == ["b generated as a gap above a (a < b)",
                                                  "c generated as a gap above b (b < c)"]
    report = SampleReport()
    batches = list(generator.sample_batches(3000, random_state=2, batch_rows=700, report=report))
    assert [len(b) for b in batches] == [700, 700, 700, 700, 200]
    synthetic = pd.concat(batches, ignore_index=True)
    assert_all_hold(rules, synthetic)
    assert synthetic["tag"].isna().any() and (synthetic.loc[synthetic["tag"].isna(), "code"] == "NONE").all()
    assert report.rows == 3000  # summed over the batches
    # a fixed end of the chain pulls the free sides below it
    seeded = generator.sample(seed_data=pd.DataFrame({"c": [5, 30, 3]}), random_state=3)
    assert seeded["c"].tolist() == [5, 30, 3]
    assert ((seeded["a"] < seeded["b"]) & (seeded["b"] < seeded["c"])).all()


def test_declared_mapping_beyond_training_and_dirty_observed_data(contracts):
    rules = [{"type": "dependency", "determinant": "education", "dependent": "education_num",
              "mapping": {**EDUCATION, "Preschool": 1}}]
    generator = GaussianCopulaGenerator(random_state=0, rules=rules).fit(contracts)
    with pytest.raises(ConstraintViolationError, match="seen in training maps to it"):
        generator.sample(seed_data=pd.DataFrame({"education_num": [1]}))
    # imputation keeps observed cells even when they break a rule, and fills the rest consistently
    dirty = contracts.head(4).copy()
    dirty["education"] = ["Bachelors", "Bachelors", None, "Masters"]
    dirty["education_num"] = [9, None, 16, None]
    filled = generator.impute(dirty, random_state=0)
    assert filled["education"].tolist() == ["Bachelors", "Bachelors", "Doctorate", "Masters"]
    assert filled["education_num"].tolist() == [9, 13, 16, 14]
