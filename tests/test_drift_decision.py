"""The drift decision in the core: real CSV sources, real saved models, no Dagster."""

import os

import numpy as np
import pandas as pd
import pytest

from synth_pipeline import drift_decision
from synth_pipeline.config import parse_config
from synth_pipeline.drift import DRIFT_PROFILE_KEY, SOURCE_FINGERPRINT_KEY
from synth_pipeline.drift_decision import (
    SchemaChangeError,
    check_source,
    format_cursor,
    parse_cursor,
)
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.model_store import ModelStore
from synth_pipeline.profile import TrainingProfile, fingerprint_table
from synth_pipeline.schema import infer_schema
from synth_pipeline.sources import ConfiguredSource, read_source


def customers(n: int, seed: int, *, income_mean: float = 50_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(income_mean, 10_000, n).round(2),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n, p=[0.5, 0.3, 0.2]),
            "churned": rng.random(n) < 0.3,
        }
    )


def pipeline_config(tmp_path, source_path, **settings):
    """A config with one dataset, ``churn``, read from ``source_path`` and trained with the copula."""
    return parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"path": str(source_path)},
                    "generator": {"name": "copula"},
                    "drift": {"threshold": 0.2, "poll_seconds": 30},
                    **settings,
                }
            },
        }
    )


def dataset_config(tmp_path, source_path, **settings):
    return pipeline_config(tmp_path, source_path, **settings).datasets["churn"]


def train(dataset_cfg, models: ModelStore) -> str:
    """What the lifecycle's train step stores: the model, the source fingerprint and the drift profile."""
    source = read_source(dataset_cfg.source)
    schema = infer_schema(source, {k: v.to_setting() for k, v in dataset_cfg.columns.items()})
    training = source.sample(frac=0.5, random_state=0)
    generator = make_generator("copula", random_state=0).fit(training, schema=schema)
    metadata = {
        SOURCE_FINGERPRINT_KEY: fingerprint_table(source),
        DRIFT_PROFILE_KEY: TrainingProfile.from_table(training, schema).to_dict(),
        "config_hash": dataset_cfg.config_hash(),
    }
    return models.save(dataset_cfg.name, generator, metadata).model_id


def write_later(path, frame):
    """Rewrite the source, making sure its mtime moves even on coarse clocks."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    frame.to_csv(path, index=False)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


class NoFullRead(ConfiguredSource):
    """A source whose probe works and whose full read must not happen."""

    def read(self):
        raise AssertionError("the source was read although the probe did not change")


@pytest.fixture
def setup(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(3000, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path)
    models = ModelStore(tmp_path / "private" / "models")
    return cfg, models, train(cfg, models), source_path


def again(decision):
    """The cursor as the next check receives it (through its text form, as a sensor stores it)."""
    return parse_cursor(format_cursor(decision.cursor))


def test_unchanged_source_skips_and_the_cursor_makes_the_next_check_cheap(setup):
    cfg, models, model_id, source_path = setup
    first = check_source(cfg, models, None)
    assert not first.run
    assert "identical to the one model" in first.message and "max PSI 0.000" in first.message
    assert first.cursor["model_id"] == model_id and first.cursor["probe"]["size"] == source_path.stat().st_size
    second = check_source(cfg, models, again(first), NoFullRead(cfg.source))
    assert not second.run and "source unchanged since" in second.message and "max PSI 0.000" in second.message


def test_touched_but_identical_file_skips_without_statistics(setup, monkeypatch):
    cfg, models, model_id, source_path = setup
    first = check_source(cfg, models, None)
    stat = source_path.stat()
    os.utime(source_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    def no_profile(*args, **kwargs):
        raise AssertionError("drift was measured although the content is unchanged")

    monkeypatch.setattr(drift_decision, "measure_drift_batches", no_profile)
    second = check_source(cfg, models, again(first))
    assert not second.run and "identical" in second.message


def test_appended_rows_from_the_same_distribution_skip_with_the_drift_figure(setup):
    cfg, models, model_id, source_path = setup
    first = check_source(cfg, models, None)
    write_later(source_path, pd.concat([customers(3000, seed=0), customers(1000, seed=1)], ignore_index=True))
    result = check_source(cfg, models, again(first))
    assert not result.run
    assert "drift below the threshold 0.2: max PSI 0.0" in result.message
    assert "4,000 rows now" in result.message
    assert 0 < result.cursor["max_psi"] < 0.05 and result.cursor["row_count"] == 4000
    cheap = check_source(cfg, models, again(result))  # the figure is repeated on cheap checks
    assert not cheap.run and f"max PSI {result.cursor['max_psi']:.3f}" in cheap.message


def test_replaced_distribution_asks_for_retraining(setup):
    cfg, models, model_id, source_path = setup
    first = check_source(cfg, models, None)
    write_later(source_path, customers(3000, seed=2, income_mean=75_000))
    result = check_source(cfg, models, again(first))
    assert result.run and result.report is not None
    assert result.tags["synth_pipeline/trigger"] == "drift"
    assert result.tags["synth_pipeline/max_psi_column"] == "income"
    assert float(result.tags["synth_pipeline/max_psi"]) > 1.0
    assert result.tags["synth_pipeline/previous_model_id"] == model_id
    assert result.run_key.startswith("churn:") and result.run_key.endswith(model_id)
    waiting = check_source(cfg, models, again(result))  # the run has not produced a model yet
    assert not waiting.run and "retraining was requested" in waiting.message
    new_model = train(cfg, models)  # once the retrained model exists, the same source is quiet again
    after = check_source(cfg, models, again(result))
    assert not after.run and new_model in after.message


def test_absorbable_schema_change_asks_for_retraining_and_says_what_changed(setup):
    cfg, models, model_id, source_path = setup
    first = check_source(cfg, models, None)
    write_later(source_path, customers(3000, seed=0).drop(columns=["churned"]).assign(segment="retail"))
    decision = check_source(cfg, models, again(first))
    assert decision.run and decision.tags["synth_pipeline/trigger"] == "schema"
    assert "added 'segment'; removed 'churned'" in decision.message


def test_schema_change_the_config_cannot_absorb_fails_loudly(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(2000, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path, columns={"age": "integer"}, target="churned")
    models = ModelStore(tmp_path / "models")
    train(cfg, models)
    broken = customers(2000, seed=0)
    broken["age"] = broken["age"].astype(str)
    broken.loc[:20, "age"] = "unknown"
    write_later(source_path, broken)
    with pytest.raises(SchemaChangeError, match=r"(?s)retyped 'age'.*columns\.age forces kind 'integer'"):
        check_source(cfg, models, None)
    write_later(source_path, customers(2000, seed=0).drop(columns=["churned"]))
    with pytest.raises(SchemaChangeError, match=r"(?s)removed 'churned'.*churn\.target: column 'churned' is not in"):
        check_source(cfg, models, None)


def test_no_model_yet_asks_for_the_first_training(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(500, seed=0).to_csv(source_path, index=False)
    decision = check_source(dataset_config(tmp_path, source_path), ModelStore(tmp_path / "models"), None)
    assert decision.run and decision.run_key == "churn:initial"
    assert decision.tags == {"synth_pipeline/trigger": "no_model"}


def test_the_source_is_read_through_the_reader_given(setup, tmp_path):
    cfg, models, model_id, source_path = setup
    elsewhere = tmp_path / "elsewhere.csv"
    customers(3000, seed=2, income_mean=75_000).to_csv(elsewhere, index=False)
    other = ConfiguredSource(dataset_config(tmp_path, elsewhere).source)
    assert check_source(cfg, models, None, other).run
    assert not check_source(cfg, models, None).run


def test_unreadable_or_foreign_cursors_start_afresh():
    assert parse_cursor(None) is None and parse_cursor("not json") is None
    assert parse_cursor(format_cursor({"format": 99})) is None
    assert parse_cursor(format_cursor({"format": drift_decision.CURSOR_FORMAT, "model_id": "m"})) == {
        "format": drift_decision.CURSOR_FORMAT,
        "model_id": "m",
    }
