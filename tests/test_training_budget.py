"""argn's training budgets: counts (cells, tokens) that give the same model on any machine; clocks only when set."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn import budget as budget_module
from synth_pipeline.generators.argn.settings import ARGNSettings

FAST = {"random_state": 0, "n_threads": 1, "show_progress": False}


def _table(n_rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Four columns; ``amount`` is a binned number (several sub-columns), so sub-columns outnumber columns."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "premium"], n_rows, p=[0.7, 0.3])
    return pd.DataFrame({
        "plan": plan,
        "country": rng.choice(["NO", "IT", "DE"], n_rows),
        "amount": np.round(np.where(plan == "premium", 800.0, 400.0) + rng.normal(0, 90, n_rows), 2),
        "active": rng.random(n_rows) < 0.6,
    })


def _state(generator: ARGNGenerator) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in generator.network_.state_dict().items()}


class _LateClock:
    """A clock that says every call is hours after the last: a budget that read it would stop at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 10_000.0
        return self.now


def test_a_cell_budget_stops_training_with_its_reason_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    table = _table()
    with caplog.at_level(logging.WARNING, logger="synth_pipeline.generators.argn"):
        generator = ARGNGenerator(**FAST, max_cells_seen=3000, max_epochs=50).fit(table)
    report = generator.training_report_
    assert len(generator.encoder_.sub_columns) > len(generator.encoder_.encoders) == 4
    # 400 rows: 360 train in batches of 32, 4 columns, so 128 cells a step; the step that reaches 3,000 is the 24th
    assert report["cells_seen"] == 24 * 32 * 4
    assert report["epochs"] == 3 and report["final_epochs"] == 0
    assert report["stopped_because"] == "cell budget of 3,000 reached"
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "max_cells_seen=3000" in warning and "reproducible" in warning and "under-trained" in warning
    assert len(generator.sample(10)) == 10


def test_a_binding_cell_budget_gives_the_same_model_and_rows_whatever_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = _table()
    settings = {**FAST, "max_cells_seen": 5000, "max_epochs": 50}
    first = ARGNGenerator(**settings).fit(table)
    # the budget never reads the clock unless max_training_seconds is set: a clock hours late changes nothing
    monkeypatch.setattr(budget_module, "time", _LateClock())
    second = ARGNGenerator(**settings).fit(table)
    assert first.training_report_["stopped_because"] == second.training_report_["stopped_because"]
    assert "cell budget" in second.training_report_["stopped_because"]
    a, b = _state(first), _state(second)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    pd.testing.assert_frame_equal(first.sample(200, random_state=1), second.sample(200, random_state=1))


def test_the_time_limit_is_off_by_default_and_still_checked_when_set() -> None:
    assert ARGNSettings().max_training_seconds is None and ARGNSettings().text_max_seconds is None
    assert ARGNSettings().max_cells_seen == 36_000_000 and ARGNSettings().text_max_tokens_seen == 20_000_000
    generator = ARGNGenerator(**FAST, max_training_seconds=None, max_epochs=1).fit(_table(100))
    assert generator.training_report_["stopped_because"] == "max_epochs=1 reached"
    for setting, value in [("max_training_seconds", -5), ("max_training_seconds", 0), ("text_max_seconds", -1)]:
        with pytest.raises(ConfigError, match=f"{setting} must be greater than 0"):
            ARGNGenerator(**{setting: value}).fit(_table(100))
    for setting in ("max_cells_seen", "text_max_tokens_seen"):
        with pytest.raises(ConfigError, match=f"{setting} must be greater than or equal to 1"):
            ARGNGenerator(**{setting: 0}).fit(_table(100))


def test_a_token_budget_stops_the_text_model_with_its_reason_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    words = (["red", "blue", "green", "grey", "pink"], ["cat", "dog", "owl", "fox", "eel"], ["runs", "sits", "eats"])
    table = pd.DataFrame({
        "group": rng.choice(["a", "b"], 700),
        "text": [" ".join(rng.choice(w) for w in words) for _ in range(700)],
    })
    with caplog.at_level(logging.WARNING, logger="synth_pipeline.generators.argn"):
        generator = ARGNGenerator(
            **FAST, max_epochs=2, text_max_epochs=20, text_max_tokens_seen=500, column_kinds={"text": "text"}
        ).fit(table)
    report = next(e for e in generator.encoder_.encoders if e.name == "text").report
    # three tokens a text, batches of up to 32 texts: the step that reaches 500 tokens is in the first epoch
    assert report["stopped_because"] == "token budget of 500 reached"
    assert report["epochs"] == 1 and 500 <= report["tokens_seen"] < 500 + 32 * 3
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "text_max_tokens_seen=500" in warning and "reproducible" in warning
    assert generator.sample(20)["text"].notna().any()
