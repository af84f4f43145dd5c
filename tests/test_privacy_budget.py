"""The privacy budget: validated settings, the default δ, the split between statistics and DP-SGD."""

import math

import pytest

from synth_pipeline.dp_statistics import rho_for_epsilon
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.privacy_budget import (
    STATISTICS_SHARE,
    THRESHOLD_DELTA_SHARE,
    PrivacySettings,
    default_delta,
    parse_privacy,
    split_budget,
)
from synth_pipeline.generators.registry import check_generator_settings
from synth_pipeline.generators.settings import GeneratorSettings, validate_settings


def test_default_delta_is_well_below_one_over_n():
    assert default_delta(1_000) == 1e-5  # min(1e-5, 1/(10 n))
    assert default_delta(1_000_000) == pytest.approx(1e-7)
    for n in (10, 5_000, 50_000, 10**7):
        assert default_delta(n) < 1 / n


def test_split_gives_the_statistics_a_share_of_one_accountants_rho():
    privacy = PrivacySettings(epsilon=3.0, delta=1e-5)
    split = split_budget(privacy, 20_000, trains_with_sgd=True)
    # thresholds and accountant share δ; the statistics get their share of the ρ of all of ε
    assert split.threshold_delta + split.training_delta == pytest.approx(1e-5)
    assert split.threshold_delta == pytest.approx(1e-5 * THRESHOLD_DELTA_SHARE)
    assert split.training_epsilon == 3.0
    assert split.statistics_rho == pytest.approx(STATISTICS_SHARE * rho_for_epsilon(3.0, split.training_delta))
    assert split.statistics_noise == pytest.approx((2 * split.statistics_rho) ** -0.5)
    # what the statistics are given is their own guarantee: that ρ at their thresholds' δ
    assert rho_for_epsilon(split.statistics_epsilon, split.statistics_delta / 2) == pytest.approx(split.statistics_rho)
    assert split.statistics_delta / 2 == pytest.approx(split.threshold_delta)
    assert split.statistics_epsilon < 3.0  # its own guarantee: less than the whole
    only_statistics = split_budget(PrivacySettings(epsilon=1.0), 20_000, trains_with_sgd=False)
    assert only_statistics.statistics_epsilon == 1.0 and only_statistics.training_epsilon == 0.0
    assert only_statistics.delta == default_delta(20_000)


@pytest.mark.parametrize(
    ("privacy", "named"),
    [
        ({"epsilon": 0}, "privacy.epsilon"),
        ({"epsilon": -1.0}, "privacy.epsilon"),
        ({"epsilon": math.inf}, "privacy.epsilon"),
        ({"epsilon": "3"}, "privacy.epsilon"),
        ({"epsilon": 3.0, "delta": 1.0}, "privacy.delta"),
        ({"epsilon": 3.0, "delta": 0.0}, "privacy.delta"),
        ({"epsilon": 3.0, "delta": 2}, "privacy.delta"),
        ({"delta": 1e-5}, "privacy.epsilon"),
    ],
)
def test_bad_budgets_are_refused_naming_the_setting(privacy, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        check_generator_settings("argn", {"privacy": privacy})


def test_a_generator_that_cannot_honour_privacy_refuses_it():
    # the copula honours privacy (DP marginals and correlation); a settings model that does not refuses it
    check_generator_settings("copula", {"privacy": {"epsilon": 3.0}})
    with pytest.raises(ConfigError, match="cannot honour"):
        validate_settings(GeneratorSettings, {"privacy": {"epsilon": 3.0}}, generator="plain")


def test_parse_privacy():
    assert parse_privacy(None) is None
    assert parse_privacy({"epsilon": 2}).epsilon == 2.0
    with pytest.raises(ValueError, match="mapping"):
        parse_privacy(3.0)


def test_describe_privacy():
    from synth_pipeline.generators.privacy_budget import describe_privacy

    assert "no differential privacy" in describe_privacy(None)
    record = {"epsilon": 2.95, "delta": 1e-5, "epsilon_budget": 3.0, "noise_multiplier": 2.2, "max_grad_norm": 1.0,
              "sampling_rate": 0.08, "steps": 250, "accountant": "prv", "statistics_private": True}
    line = describe_privacy(record)
    assert "ε = 2.95 spent of 3" in line and "noise multiplier 2.2" in line and "WARNING" not in line
    assert "WARNING" in describe_privacy({**record, "statistics_private": False})
