"""DP-SGD in argn: the accountant agrees with opacus', training stops within the budget, clipping is exact."""

import warnings

import numpy as np
import pytest
import torch

from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.model import ARGNNetwork, group_bounds
from synth_pipeline.generators.argn.private_gradients import clipped_gradients, row_losses_and_norms
from synth_pipeline.generators.argn.private_plan import (
    MAX_NOISE_MULTIPLIER,
    epsilon_after,
    noise_for,
    plan_dp_sgd,
)
from synth_pipeline.generators.argn.training import column_positions, order_mask
from synth_pipeline.simulate import simulate_churn

BUDGET = {"epsilon": 4.0, "delta": 1e-5}


@pytest.fixture(scope="module")
def private_model():
    table = simulate_churn(600, random_state=1)
    return ARGNGenerator(random_state=0, max_epochs=3, privacy=BUDGET).fit(table), table


def test_accountant_matches_opacus_for_known_settings():
    from opacus.accountants import PRVAccountant, RDPAccountant

    # the field notes' numbers: q = 0.01, σ = 1.5, 100 epochs, δ = 1e-5 -> ε ≈ 3.5 (RDP), 3.2 (PRV)
    assert epsilon_after(1.5, 0.01, 10_000, 1e-5, "rdp") == pytest.approx(3.46, abs=0.02)
    assert epsilon_after(1.5, 0.01, 10_000, 1e-5, "prv") == pytest.approx(3.20, abs=0.02)
    for accountant, books in (("rdp", RDPAccountant()), ("prv", PRVAccountant())):
        for _ in range(300):  # opacus' own step-by-step bookkeeping
            books.step(noise_multiplier=1.1, sample_rate=0.02)
        assert epsilon_after(1.1, 0.02, 300, 1e-5, accountant) == pytest.approx(books.get_epsilon(1e-5), rel=1e-6)


def test_the_noise_is_the_least_that_stays_within_budget():
    sigma = noise_for(2.0, 1e-5, 0.02, 500, "prv")
    assert epsilon_after(sigma, 0.02, 500, 1e-5, "prv") <= 2.0
    assert epsilon_after(sigma / 1.03, 0.02, 500, 1e-5, "prv") > 2.0


def test_training_stops_at_the_budget_and_records_what_it_spent(private_model):
    from opacus.accountants import PRVAccountant

    model, table = private_model
    spent = model.privacy_
    assert spent["steps"] == spent["planned_steps"] > 0
    assert "privacy budget" in model.training_report_["stopped_because"]
    assert spent["epsilon"] <= BUDGET["epsilon"] and spent["delta"] <= BUDGET["delta"]
    # statistics and steps under one accountant use the budget nearly in full, never more
    assert 0.9 * BUDGET["epsilon"] <= spent["epsilon"]
    books = PRVAccountant()  # opacus' own books: the statistics' Gaussian (rate 1, one step), then the steps
    books.history = [(spent["statistics_noise"], 1.0, 1), (spent["noise_multiplier"], spent["sampling_rate"],
                                                           spent["steps"])]
    with warnings.catch_warnings():  # PRV's log(1 - q) at q = 1 warns; its bound holds
        warnings.simplefilter("ignore", RuntimeWarning)
        assert spent["epsilon"] == pytest.approx(books.get_epsilon(spent["training_delta"]), rel=1e-6)
    # the statistics' own Gaussian is at least what their books spent (planned before they were learned)
    statistics_rho = model.private_statistics_["rho"]
    assert (2 * statistics_rho) ** -0.5 >= spent["statistics_noise"] * (1 - 1e-9)
    # each part alone spends less than both together
    assert spent["training_epsilon"] < spent["epsilon"] and spent["statistics_epsilon"] < spent["epsilon"]
    assert spent["delta"] == pytest.approx(model.private_statistics_["threshold_delta"] + spent["training_delta"])
    epsilons = [epoch["epsilon"] for epoch in model.training_report_["history"]]
    assert epsilons == sorted(epsilons) and epsilons[-1] == pytest.approx(spent["epsilon"])
    assert len(model.sample(50)) == 50


def test_one_accountant_spends_less_than_adding_the_parts():
    # census-sized plan at ε = 1: the statistics' Gaussian and the steps composed by PRV are below the sum
    plan = plan_dp_sgd(24_000, epsilon=1.0, delta=5e-6, expected_batch_size=1920, epochs=20, statistics_share=0.15)
    assert plan.planned_epsilon <= 1.0 and plan.statistics_noise is not None
    alone = epsilon_after(plan.noise_multiplier, plan.sample_rate, plan.steps, 5e-6, "prv")
    statistics = epsilon_after(0.0, 1.0, 0, 5e-6, "prv", plan.statistics_noise)
    assert alone + statistics > 1.15 * plan.planned_epsilon
    assert epsilon_after(0.0, 1.0, 0, 5e-6, "prv") == 0.0


def test_the_record_survives_save_and_load(private_model, tmp_path):
    model, _ = private_model
    model.save(tmp_path / "model")
    loaded = ARGNGenerator.load(tmp_path / "model")
    assert loaded.privacy_ == model.privacy_
    assert ARGNGenerator(random_state=0, max_epochs=1).fit(simulate_churn(200)).privacy_ is None


def test_a_time_budget_stops_early_and_spends_less():
    table = simulate_churn(600, random_state=2)  # the DP statistics need a few hundred rows at this budget
    model = ARGNGenerator(random_state=0, max_epochs=3, max_training_seconds=1e-3, privacy=BUDGET).fit(table)
    spent = model.privacy_
    assert spent["steps"] < spent["planned_steps"]
    assert spent["epsilon"] < 0.9 * BUDGET["epsilon"]
    assert "time budget" in model.training_report_["stopped_because"]


def test_a_budget_too_small_for_one_epoch_names_the_smallest_that_works():
    with pytest.raises(ConfigError, match=r"privacy\.epsilon is too small .* smallest privacy\.epsilon") as error:
        plan_dp_sgd(500, epsilon=1e-3, delta=1e-5, expected_batch_size=64, epochs=20)
    smallest = float(str(error.value).split("is about ")[1].split(" ")[0])
    plan = plan_dp_sgd(500, epsilon=smallest, delta=1e-5, expected_batch_size=64, epochs=20)
    assert plan.noise_multiplier <= MAX_NOISE_MULTIPLIER and plan.planned_epsilon <= smallest
    # with the statistics in the same books the smallest budget is larger, and it works
    with pytest.raises(ConfigError, match=r"privacy\.epsilon is too small") as error:
        plan_dp_sgd(500, epsilon=smallest, delta=1e-5, expected_batch_size=64, epochs=20, statistics_share=0.15)
    with_statistics = float(str(error.value).split("is about ")[1].split(" ")[0])
    assert with_statistics > smallest
    plan = plan_dp_sgd(500, epsilon=with_statistics, delta=1e-5, expected_batch_size=64, epochs=20,
                       statistics_share=0.15)
    assert plan.planned_epsilon <= with_statistics
    with pytest.raises(ConfigError, match=r"privacy\.epsilon"):
        ARGNGenerator(random_state=0, privacy={"epsilon": 1e-3}).fit(simulate_churn(600))


def test_ghost_clipping_equals_clipping_each_rows_own_gradient():
    rng = np.random.default_rng(0)
    cardinalities = [5, 3, 9, 2, 17, 4]
    network = ARGNNetwork(cardinalities, embedding_dim=4, hidden_size=6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(1)) * 0.3)
    columns = np.arange(len(cardinalities))
    codes = torch.as_tensor(np.stack([rng.integers(0, c, 10) for c in cardinalities], axis=1))
    masks = torch.as_tensor(np.stack([order_mask(column_positions(6, False, rng), columns) for _ in range(3)]))
    losses, norms = row_losses_and_norms(network, codes, masks)
    assert float(losses.mean()) == pytest.approx(float(network.loss(codes, masks)), rel=1e-5)
    bounds = group_bounds(len(codes), len(masks))
    expected = {name: torch.zeros_like(p) for name, p in network.named_parameters()}
    for row in range(len(codes)):
        group = int(np.searchsorted(bounds, row, side="right") - 1)
        network.zero_grad()
        network.loss(codes[row : row + 1], masks[group : group + 1]).backward()
        norm = torch.sqrt(sum((p.grad**2).sum() for p in network.parameters()))
        assert float(norms[row]) == pytest.approx(float(norm), rel=1e-4)
        for name, p in network.named_parameters():
            expected[name] += p.grad * min(1.0, 5.0 / (float(norm) + 1e-6))
    clipped_gradients(network, codes, masks, max_grad_norm=5.0)
    for name, p in network.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-4, atol=1e-5)


def test_same_data_and_seed_give_the_same_private_model(private_model):
    model, table = private_model
    again = ARGNGenerator(random_state=0, max_epochs=3, privacy=BUDGET).fit(table)
    assert again.privacy_ == model.privacy_
    for key, value in model.network_.numpy_state().items():
        np.testing.assert_array_equal(again.network_.numpy_state()[key], value)
