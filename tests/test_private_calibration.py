"""Under privacy argn's marginals are calibrated to the DP statistics' released counts (post-processing)."""

import numpy as np
import pytest
import torch

from synth_pipeline.dp_statistics import PrivateStatistics
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.marginal_calibration import _goal
from synth_pipeline.generators.argn.private_calibration import calibrate_marginals
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


@pytest.mark.integration
def test_calibration_moves_a_poorly_trained_model_to_the_released_marginals(monkeypatch):
    import synth_pipeline.generators.argn.marginal_calibration as calibration

    table = simulate_churn(1000, random_state=3)
    monkeypatch.setattr(calibration, "CALIBRATION_ROUNDS", 0)  # fit without it, then calibrate by hand
    model = ARGNGenerator(random_state=0, max_epochs=1, privacy=BUDGET).fit(table)
    spent = dict(model.privacy_)
    categorical = [e.name for e in model.encoder_.encoders if hasattr(e, "categories") and len(e.categories) > 1]
    assert categorical

    def errors() -> list[float]:
        found = []
        for column in categorical:
            sampled, released = _shares(model, column)
            known = ~np.isnan(released)
            found.append(float(np.abs(sampled[known] - released[known]).max()))
        return found

    before = errors()
    monkeypatch.setattr(calibration, "CALIBRATION_ROWS", 8000)
    monkeypatch.setattr(calibration, "CALIBRATION_ROUNDS", 3)
    shifted = calibrate_marginals(model.network_, model.encoder_, model._statistics, len(table),
                                  torch.Generator().manual_seed(0))
    after = errors()
    assert shifted >= len(categorical)
    assert max(after) < 0.03, after  # what sampling 8,000 and 6,000 rows leaves
    assert np.mean(after) < 0.5 * np.mean(before), (after, before)
    assert model.privacy_ == spent  # post-processing: nothing more is charged


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

