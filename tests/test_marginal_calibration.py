"""argn's marginals calibrated after training to the training rows' code shares (``calibrate_marginals``)."""

import numpy as np
import pytest
import torch

from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.marginal_calibration import calibrate_to_training
from synth_pipeline.generators.argn.sampling import sample_codes
from synth_pipeline.simulate import simulate_churn


def _errors(model: ARGNGenerator, codes: np.ndarray, n: int = 6000) -> list[float]:
    """Per column, the largest gap between a first-sub-column code's sampled and training share."""
    encoder = model.encoder_
    drawn = sample_codes(model.network_, encoder, n, known_codes=None, known=None, impute=False, temperature=1.0,
                         generator=torch.Generator().manual_seed(5))
    gaps = []
    for c, column in enumerate(encoder.encoders):
        sub = int(np.flatnonzero(encoder.column_of_sub == c)[0])
        size = column.first_cardinality
        real = np.bincount(codes[:, sub], minlength=size)[:size] / len(codes)
        sampled = np.bincount(drawn[:, sub], minlength=size)[:size] / n
        gaps.append(float(np.abs(real - sampled).max()))
    return gaps


@pytest.mark.integration
def test_calibration_brings_a_poorly_trained_model_to_the_training_marginals():
    table = simulate_churn(1500, random_state=3)
    model = ARGNGenerator(random_state=0, max_epochs=1, calibrate_marginals=False).fit(table)
    codes = model.encoder_.encode(table)
    before = _errors(model, codes)
    shifted = calibrate_to_training(model.network_, model.encoder_, codes, torch.Generator().manual_seed(0))
    after = _errors(model, codes)
    assert shifted == len(model.encoder_.encoders)
    assert max(after) < 0.04, after  # what sampling 20,000 and 6,000 rows leaves
    assert np.mean(after) < 0.5 * np.mean(before), (after, before)


@pytest.mark.integration
def test_the_default_fit_is_calibrated_and_reproducible():
    table = simulate_churn(800, random_state=4)
    fits = [ARGNGenerator(random_state=0, max_epochs=2).fit(table) for _ in range(2)]
    plain = ARGNGenerator(random_state=0, max_epochs=2, calibrate_marginals=False).fit(table)
    biases = [torch.cat([b.detach().flatten() for b in m.network_.b2]) for m in (*fits, plain)]
    assert torch.equal(biases[0], biases[1])  # the same seed, the same calibrated model
    assert not torch.equal(biases[0], biases[2])
    assert fits[0].sample(300, random_state=1).equals(fits[1].sample(300, random_state=1))


def test_a_gap_within_sampling_noise_is_left_and_one_far_beyond_it_is_closed():
    from synth_pipeline.generators.argn.marginal_calibration import _beyond_noise

    goal = np.array([0.5, 0.3, 0.2])
    # 1,350 training rows, 20,000 sampled: a 1-point gap is noise, a 10-point gap is not
    weights = _beyond_noise(goal, np.array([0.49, 0.31, 0.2]), 1350, 20_000)
    assert weights[0] == 0.0 and weights[1] == 0.0 and weights[2] == 0.0
    weights = _beyond_noise(goal, np.array([0.40, 0.40, 0.2]), 1350, 20_000)
    assert 0.9 < weights[0] < 1.0 and 0.9 < weights[1] < 1.0
    # the same 1-point gap on 1,000,000 training rows and sampled rows is beyond noise
    assert (_beyond_noise(goal, np.array([0.49, 0.31, 0.2]), 1e6, 10**6)[:2] > 0.5).all()
