"""argn's last epochs on all rows: after early stopping, the validation rows are learned from too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.generators.argn import ARGNGenerator, training
from synth_pipeline.generators.argn.budget import Budget
from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.settings import ARGNSettings
from synth_pipeline.generators.argn.training import EarlyStopping, TrainingPlan, _finish_on_all_rows, _split


def _share_of_code_one(final_epochs: int) -> float:
    """P(first sub-column = 1) after the final epochs, when only the validation rows hold code 1."""
    settings = ARGNSettings(final_epochs=final_epochs, dropout=0.0, input_sparsity=0.0, ema_decay=0.0,
                            learning_rate=0.05, weight_decay=0.0, validation_share=0.25)
    plan = TrainingPlan(settings=settings, batch_size=50, device=torch.device("cpu"), show_progress=False)
    rng = np.random.default_rng(0)
    codes = np.zeros((400, 2), dtype=np.int16)
    codes[:, 1] = rng.integers(0, 3, 400)
    data = _split(codes, None, np.array([0, 1]), plan, rng)
    data.training[:, 0] = 0
    data.validation[:, 0] = 1  # a quarter of the rows, seen by early stopping only
    network = ARGNNetwork([2, 3], embedding_dim=4, hidden_size=8, generator=torch.Generator().manual_seed(0))
    network.b2[0].data[0] = torch.tensor([4.0, -4.0])  # as if trained on the training rows alone: P(1) ~ 0
    ema = ARGNNetwork([2, 3], embedding_dim=4, hidden_size=8)
    ema.load_state_dict(network.state_dict())
    stopping = EarlyStopping(3, network.state_dict())
    optimizer = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    dropout = torch.Generator().manual_seed(0)
    budget = Budget(settings.max_cells_seen, settings.max_training_seconds)
    ran = _finish_on_all_rows(network, ema, stopping, optimizer, data, plan, rng, dropout, budget=budget)
    assert ran == final_epochs
    network.load_state_dict(stopping.best_state)
    with torch.no_grad():
        logits = network.prefix_logits(network.embed(torch.zeros((1, 2), dtype=torch.long)).reshape(1, -1), 0)
    return float(torch.softmax(logits, dim=-1)[0, 1])


def test_final_epochs_learn_the_validation_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "FINAL_EPOCHS_MIN_ROWS", 0)  # the 400-row table is below the threshold
    assert _share_of_code_one(0) < 0.01
    assert 0.15 < _share_of_code_one(15) < 0.35  # the merged rows' share is 0.25


def test_fit_reports_its_final_epochs_small_tables_and_zero_skip_them(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 300), "b": rng.integers(0, 50, 300)})

    def final_epochs(**settings: int) -> int:
        return ARGNGenerator(max_epochs=3, random_state=0, **settings).fit(table).training_report_["final_epochs"]

    assert final_epochs() == 0  # 300 rows: below FINAL_EPOCHS_MIN_ROWS
    monkeypatch.setattr(training, "FINAL_EPOCHS_MIN_ROWS", 300)
    assert final_epochs() == 2
    assert final_epochs(final_epochs=0) == 0
