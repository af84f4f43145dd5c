"""Business rules: declaration, inference, enforcement in generation, Great Expectations validation."""

import os
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.cli import main
from synth_pipeline.constraints import (
    ConditionalRule,
    DependencyRule,
    InequalityRule,
    RangeRule,
    RuleSet,
    SumRule,
    infer_rules,
)
from synth_pipeline.constraints.enforcement import RuleViolationWarning, SampleReport
from synth_pipeline.constraints.expectations import validate_rules
from synth_pipeline.constraints.rules import series_keys
from synth_pipeline.errors import ConfigError, ConstraintViolationError
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


def test_flagship_generator_honours_the_rules_without_its_own_code(contracts):
    generator = make_generator("argn", random_state=0, rules=CONTRACT_RULES, max_training_seconds=6, max_epochs=8)
    generator.fit(contracts.head(800))
    synthetic = generator.sample(1500, random_state=1)
    assert_all_hold(CONTRACT_RULES, synthetic)
    seeded = generator.sample(seed_data=pd.DataFrame({"education_num": [14] * 20}), random_state=2)
    assert (seeded["education"] == "Masters").all()


# -- inference -------------------------------------------------------------------------------------
def test_inference_finds_what_holds_exactly(contracts):
    rules = infer_rules(contracts)
    described = {r.describe() for r in rules}
    assert "education <-> education_num" in described
    assert "city -> country" in described
    assert "start < end" in described
    assert "total = base + extras" in described
    assert "base in [{}, {}]".format(contracts["base"].min(), contracts["base"].max()) in described
    assert {f"{c} is not null" for c in contracts.columns} <= described
    assert not any(r.type == "dependency" and r.dependent == "education" for r in rules)  # one rule per 1:1 pair
    by_kind = {r.type for r in rules}
    assert by_kind == {"not_null", "range", "dependency", "inequality", "sum"}
    assert all(r.violations == 0 for r in rules.results(contracts))
    # the 1:1 rule lists its pairs for the reviewer
    mapping = next(r.mapping for r in rules if r.describe() == "education <-> education_num")
    assert mapping == {k: v for k, v in EDUCATION.items()} | mapping and mapping["Bachelors"] == 13


def test_inference_skips_chance_findings():
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "small": rng.integers(0, 10, 60),  # 60 rows, 50 labels: any 'dependency' would be chance
            "label": rng.choice([f"v{i}" for i in range(50)], 60),
            "other": rng.choice(["a", "b"], 60),
            "young": rng.integers(1, 10, 60),
            "old": rng.integers(20, 90, 60),  # young < old always, but the ranges already say so
        }
    )
    rules = infer_rules(table)
    assert not [r for r in rules if r.type in ("dependency", "inequality", "sum")]


def test_inference_is_fast_on_fifty_columns():
    rng = np.random.default_rng(2)
    n = 5000
    columns = {f"cat{i}": rng.choice(list("abcdefgh"), n) for i in range(20)}
    columns |= {f"num{i}": rng.normal(size=n).round(3) for i in range(25)}
    columns |= {f"int{i}": rng.integers(0, 100, n) for i in range(5)}
    columns["num_total"] = columns["num0"] + columns["num1"]
    table = pd.DataFrame(columns)
    started = time.perf_counter()
    rules = infer_rules(table)
    assert time.perf_counter() - started < 10
    assert "num_total = num0 + num1" in {r.describe() for r in rules}


def test_infer_rules_setting_infers_from_training_and_enforces(contracts):
    generator = GaussianCopulaGenerator(random_state=0, infer_rules=True).fit(contracts.head(400))
    assert len(generator.rules_) > 15
    assert_all_hold(generator.rules_, generator.sample(2000, random_state=0))


# -- Great Expectations ------------------------------------------------------------------------------
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


# -- command line ----------------------------------------------------------------------------------
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
