import pandas as pd
import pytest

from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.split import split_holdout


def test_split_is_reproducible_disjoint_and_complete(churn):
    training, holdout = split_holdout(churn, fraction=0.3, random_state=7)
    again, _ = split_holdout(churn, fraction=0.3, random_state=7)
    other, _ = split_holdout(churn, fraction=0.3, random_state=8)
    assert len(holdout) == round(0.3 * len(churn)) and len(training) + len(holdout) == len(churn)
    assert set(training.customer_id).isdisjoint(holdout.customer_id)
    assert set(training.customer_id) | set(holdout.customer_id) == set(churn.customer_id)
    pd.testing.assert_frame_equal(training, again)
    assert not training.customer_id.equals(other.customer_id)


def test_stratified_split_keeps_shares(churn):
    training, holdout = split_holdout(churn, fraction=0.5, random_state=0, stratify="contract")
    shares = churn.contract.value_counts(normalize=True)
    for part in (training, holdout):
        assert (part.contract.value_counts(normalize=True) - shares).abs().max() < 0.01


def test_split_errors():
    with pytest.raises(ConfigError, match="between 0 and 1"):
        split_holdout(pd.DataFrame({"a": range(10)}), fraction=1.0)
    with pytest.raises(InvalidDataError, match="at least 2"):
        split_holdout(pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match="stratify.*'zzz'"):
        split_holdout(pd.DataFrame({"a": range(10)}), stratify="zzz")
