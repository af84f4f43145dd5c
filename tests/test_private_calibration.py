"""Under privacy argn's marginals are calibrated to the DP statistics' released counts (post-processing)."""

import numpy as np
import torch

from synth_pipeline.dp_statistics import PrivateStatistics
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.private_calibration import _goal, calibrate_marginals
from synth_pipeline.generators.argn.sampling import sample_codes
from synth_pipeline.simulate import simulate_churn

BUDGET = {"epsilon": 4.0, "delta": 1e-5}


def _shares(model: ARGNGenerator, column: str, n: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """(sampled shares of the column's codes, released shares: NaN where the code has no count)."""
    encoder = model.encoder_
    c = list(encoder.names).index(column)
    sub = int(np.flatnonzero(encoder.column_of_sub == c)[0])
    codes = sample_codes(model.network_, encoder, n, known_codes=None, known=None, impute=False, temperature=1.0,
                         generator=torch.Generator().manual_seed(5))
    column_encoder = encoder.encoders[c]
    vocabulary = model._statistics.released(column)
    released = np.full(column_encoder.first_cardinality, np.nan)
    offset = int(column_encoder.has_missing)
    for i, value in enumerate(column_encoder.categories):
        released[offset + i] = vocabulary.counts[value]
    sampled = np.bincount(codes[:, sub], minlength=len(released))[: len(released)] / n
    return sampled, released / model.n_training_rows_


def test_calibration_moves_a_poorly_trained_model_to_the_released_marginals():
    table = simulate_churn(1000, random_state=3)
    model = ARGNGenerator(random_state=0, max_epochs=1, privacy=BUDGET).fit(table)  # calibrated in fit
    categorical = [e.name for e in model.encoder_.encoders if hasattr(e, "categories") and len(e.categories) > 1]
    assert categorical
    errors_after = []
    errors_before = []
    for column in categorical:
        sampled, released = _shares(model, column)
        known = ~np.isnan(released)
        errors_after.append(np.abs(sampled[known] - released[known]).max())
    # the same model with its calibration undone by shifting the biases back is much further off
    uncalibrated = ARGNGenerator(random_state=0, max_epochs=1, privacy=BUDGET)
    import synth_pipeline.generators.argn.private_calibration as calibration

    rounds = calibration.CALIBRATION_ROUNDS
    calibration.CALIBRATION_ROUNDS = 0
    try:
        uncalibrated.fit(table)
    finally:
        calibration.CALIBRATION_ROUNDS = rounds
    for column in categorical:
        sampled, released = _shares(uncalibrated, column)
        known = ~np.isnan(released)
        errors_before.append(np.abs(sampled[known] - released[known]).max())
    assert max(errors_after) < 0.03, errors_after  # sampling noise of 6,000 rows and the last round's
    assert np.mean(errors_after) < 0.5 * np.mean(errors_before), (errors_after, errors_before)
    # post-processing: the ε recorded is the accountant's, the same with and without calibration
    assert model.privacy_["epsilon"] == uncalibrated.privacy_["epsilon"] <= BUDGET["epsilon"]


def test_codes_without_a_count_share_what_the_released_ones_leave():
    target = np.array([0.2, 0.5, np.nan, np.nan])
    goal = _goal(target, np.isnan(target), np.array([0.1, 0.3, 0.4, 0.2]))
    np.testing.assert_allclose(goal, [0.2, 0.5, 0.2, 0.1])
    goal = _goal(np.array([0.7, 0.6]), np.array([False, False]), np.array([0.5, 0.5]))  # noisy counts over 1
    np.testing.assert_allclose(goal.sum(), 1.0)


def test_calibration_without_released_columns_changes_nothing():
    table = simulate_churn(400, random_state=1)
    model = ARGNGenerator(random_state=0, max_epochs=1).fit(table)  # no privacy: no DP statistics
    assert model._statistics is None
    before = [p.detach().clone() for p in model.network_.b2]
    nothing_released = PrivateStatistics(1.0, 1e-6, list(table.columns), random_state=0)
    assert calibrate_marginals(model.network_, model.encoder_, nothing_released, len(table), torch.Generator()) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.network_.b2, strict=True))

