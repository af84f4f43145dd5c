"""Tiny sources never publish copies of real rows (issue 18, §1)."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline import lifecycle
from synth_pipeline.config import DEFAULT_MIN_TRAINING_ROWS, parse_config
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.lifecycle import PublishRefusedError
from synth_pipeline.model_store import ModelStore
from synth_pipeline.quality import Gates, check_gates, evaluate
from synth_pipeline.quality.gates import DEFAULT_MAX_IMS_EXCESS, blocking_failures
from synth_pipeline.quality.privacy import encode_tables, identical_share
from synth_pipeline.schema import infer_schema
from synth_pipeline.simulate import simulate_churn
from synth_pipeline.sources import ConfiguredSource
from tests.lifecycle_run import run_lifecycle


def _dataset(tmp_path, rows: int, generator: str = "copula", **settings):
    simulate_churn(rows, random_state=0).to_csv(tmp_path / "source.csv", index=False)
    config = parse_config(
        {"datasets": {"tiny": {"source": {"path": str(tmp_path / "source.csv")}, "generator": {"name": generator},
                               **settings}}}
    )
    return config.datasets["tiny"]


def _run(tmp_path, dataset):
    run = run_lifecycle(tmp_path, dataset)
    return run.halves, run.sampled, run.assessment, run.trained, run.warehouse


@pytest.mark.parametrize("rows", [2, 3, 50])
def test_a_tiny_source_is_refused_naming_the_setting_and_the_size(tmp_path, rows):
    dataset = _dataset(tmp_path, rows)
    source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source))
    with pytest.raises(InvalidDataError) as caught:
        lifecycle.split(dataset, source.table)
    message = str(caught.value)
    assert "\n" not in message
    assert f"datasets.tiny.min_training_rows: the training half has {rows // 2} rows" in message
    assert f"the minimum {DEFAULT_MIN_TRAINING_ROWS}" in message
    with pytest.raises(InvalidDataError, match="min_training_rows"):  # train refuses too, when called alone
        lifecycle.train(dataset, source.table.head(rows // 2), source.table, ModelStore(tmp_path / "m"),
                        source_probe={})


@pytest.mark.parametrize("generator", ["copula", "argn"])
@pytest.mark.parametrize("rows", [2, 3])
def test_copies_of_a_one_row_training_table_are_blocked_even_with_the_minimum_lowered(tmp_path, generator, rows):
    settings = {"max_epochs": 2} if generator == "argn" else {}
    dataset = _dataset(tmp_path, rows, generator, min_training_rows=1)
    dataset.generator.settings.update(settings)
    halves, sampled, assessment, trained, warehouse = _run(tmp_path, dataset)
    assert len(halves.training) == 1
    assert not assessment.passed
    with pytest.raises(PublishRefusedError):
        lifecycle.publish(dataset, assessment, sampled.snapshot, trained.model, warehouse)
    assert warehouse.latest_version("tiny", passing_only=False) is None


def test_a_tiny_table_publishes_no_copies(tmp_path):
    dataset = _dataset(tmp_path, 40, "copula", min_training_rows=1)
    halves, sampled, assessment, trained, warehouse = _run(tmp_path, dataset)
    columns = assessment.report.metadata.columns
    copies = identical_share(sampled.snapshot.to_pandas()[columns], halves.training.to_pandas()[columns])
    if assessment.passed:
        lifecycle.publish(dataset, assessment, sampled.snapshot, trained.model, warehouse)
        natural = assessment.report.distances.ims_holdout_training
        assert copies - natural <= DEFAULT_MAX_IMS_EXCESS
    else:  # refused: nothing was written
        assert warehouse.latest_version("tiny", passing_only=False) is None


def test_a_constant_column_does_not_make_every_row_tie():
    training = pd.DataFrame({"a": [5.0, 5.0, 5.0], "b": [1.0, 1.0, 1.0]})
    holdout = pd.DataFrame({"a": [4.0, 7.0, 5.0], "b": [2.0, 1.0, 0.0]})
    schema = infer_schema(pd.concat([training, holdout]), {"a": "numeric", "b": "numeric"})
    kinds = {c: schema.kind(c) for c in training.columns}
    matrices, _ = encode_tables(list(kinds), kinds, {"training": training, "holdout": holdout},
                                np.random.default_rng(0))
    assert matrices["training"].tolist() == [[0.0, 0.0]] * 3  # the training value
    assert matrices["holdout"].tolist() == [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]  # another value counts 1
    # one training row: synthetic copies of it are closer to training than the holdout rows are
    one = pd.DataFrame({"a": [5.0], "b": [1.0]})
    report = evaluate(one, pd.DataFrame({"a": [4.0], "b": [2.0]}), one.copy(), schema=schema,
                      metrics={"distances"})
    assert report.distances.dcr_share == 1.0 and report.distances.ims_training == 1.0
    assert [r.name for r in blocking_failures(check_gates(report, Gates(min_accuracy_ratio=None, max_mia_auc=None,
                                                                   max_attribute_inference_gain=None)))] == [
        "max_dcr_share", "max_ims_training"]


def _duplicated_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"plan": rng.choice(["basic", "plus"], n), "active": rng.choice(["yes", "no"], n)})


def test_the_identical_row_gate_blocks_by_default_beyond_the_holdouts_own_rate():
    assert Gates().max_ims_training.blocking and Gates().max_ims_training.threshold == DEFAULT_MAX_IMS_EXCESS
    # every real row has natural duplicates: fresh real rows are as "identical" as the holdout, and pass
    training, holdout, fresh = (_duplicated_table(400, seed) for seed in (1, 2, 3))
    natural = evaluate(training, holdout, fresh, metrics={"distances"})
    assert natural.distances.ims_training == 1.0 and natural.distances.ims_holdout_training == 1.0
    result = {r.name: r for r in check_gates(natural, Gates())}["max_ims_training"]
    assert result.passed and result.value == 0.0
    # a continuous table: 5% planted copies of training rows are beyond the holdout's rate, and block
    training, holdout, fresh = (simulate_churn(400, random_state=seed) for seed in (1, 2, 3))
    leaky = fresh.copy()
    leaky.iloc[:20] = training.iloc[:20].to_numpy()
    leaky = leaky.astype(fresh.dtypes.to_dict())
    report = evaluate(training, holdout, leaky, metrics={"distances"})
    result = {r.name: r for r in check_gates(report, Gates())}["max_ims_training"]
    assert result.value == pytest.approx(0.05) and not result.passed and result.blocking
    assert "ims_holdout_training" in result.message


def test_copies_are_found_among_all_training_rows_not_only_the_distance_sample():
    training, holdout = simulate_churn(400, random_state=1), simulate_churn(400, random_state=2)
    copies = training.sample(400, random_state=0).reset_index(drop=True)
    report = evaluate(training, holdout, copies, metrics={"distances"}, max_distance_rows=50)
    assert report.metadata.rows_used_distances == 50
    assert report.distances.ims_training == 1.0


def test_identical_rows_compare_values_not_dtypes():
    schema = infer_schema(pd.DataFrame({"n": [1, 2, 3], "c": ["a", "b", "a"]}))
    kinds = {c: schema.kind(c) for c in ("n", "c")}
    training = pd.DataFrame({"n": [1, 2, 3], "c": ["a", "b", "a"]})
    synthetic = pd.DataFrame({"n": [1.0, 2.0, 9.0], "c": pd.Categorical(["a", "b", "a"])})
    assert identical_share(synthetic, training, kinds) == pytest.approx(2 / 3)
