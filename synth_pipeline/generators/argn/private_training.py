"""DP-SGD training of the argn network (``privacy: {epsilon, delta}``), with opacus' optimizer and accountant.

Each step: a Poisson sample of the training rows (each row independently with the
plan's rate, from the fit's seeded generator), the sum of the rows' gradients each
clipped to ``max_grad_norm`` (:mod:`.private_gradients`, every parameter gets one),
then opacus' ``DPOptimizerFastGradientClipping`` adds Gaussian noise of
``noise_multiplier · max_grad_norm`` and divides by the expected batch size before
AdamW's step. The accountant starts with the DP statistics (one Gaussian mechanism, see
:mod:`synth_pipeline.generators.privacy_budget`) and records every step; the run ends after
the planned steps (:mod:`.private_plan`, whose ε is within budget), or earlier at the time limit
``max_training_seconds`` when one is set (off by default), so the weights kept are those after the last step
taken, all within budget. ``max_cells_seen`` does not apply: the accountant's plan fixes the number of steps.

What differs from non-private training, and why:

* **No validation split, no early stopping.** Choosing weights by a validation loss reads
  rows the accountant would have to charge; all training rows are used for DP-SGD and the
  final weights are kept (their moving average: post-processing, free).
* **No dropout, no input-sparsity penalty.** The clipping and noise regularize; the penalty's
  gradient would have to be added after the noise (it reads no rows) and did not help.
* **Smaller network by default** (:data:`DP_HIDDEN_SIZE`): the noise is added to every
  parameter, so fewer parameters keep more signal.
* **Larger batches, larger steps** (:data:`DP_BATCH_SHARE`, :data:`DP_LEARNING_RATE_SCALE`), a fixed
  number of epochs (:data:`DP_EPOCHS`, or ``max_epochs`` when lower).
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from typing import Any

import numpy as np
import torch

from synth_pipeline.generators import privacy_budget
from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.private_gradients import check_parameters, clipped_gradients
from synth_pipeline.generators.argn.private_plan import DPPlan, epsilon_after, make_accountant, plan_dp_sgd
from synth_pipeline.generators.argn.training import (
    Progress,
    TrainingPlan,
    TrainingReport,
    column_positions,
    order_mask,
    uncode_late_references,
)
from synth_pipeline.generators.privacy_budget import BudgetSplit, split_budget

log = logging.getLogger("synth_pipeline.generators.argn")

#: hidden width of the heads under DP when ``hidden_size`` is not set
DP_HIDDEN_SIZE = 32
#: expected passes over the rows under DP when ``max_epochs`` does not ask for fewer
DP_EPOCHS = 20
#: rows per step under DP when ``batch_size`` is not set: this share of the rows, within the bounds
#: (larger batches carry more signal per unit of noise; census, ε = 3: 0.952 at 977 rows, 0.957 at 2048)
DP_BATCH_SHARE = 0.08
DP_BATCH_BOUNDS = (64, 2048)
#: under DP the optimizer's step is this many times ``learning_rate`` (fewer, larger, noisier batches)
DP_LEARNING_RATE_SCALE = 10 / 3


def dp_batch_size(n_rows: int, batch_size: int | None) -> int:
    """The expected rows per step under DP: ``batch_size`` when set, else a share of the rows."""
    if batch_size is not None:
        return int(batch_size)
    low, high = DP_BATCH_BOUNDS
    return int(min(n_rows, np.clip(round(n_rows * DP_BATCH_SHARE), low, high)))


def train_private(
    network: ARGNNetwork,
    codes: np.ndarray,
    column_of_sub: np.ndarray,
    plan: TrainingPlan,
    dp: DPPlan,
    rng: np.random.Generator,
    *,
    plain_codes: np.ndarray | None = None,
) -> tuple[TrainingReport, dict[str, Any]]:
    """Fit ``network`` in place with DP-SGD per ``dp``; (the training report, what the accountant recorded)."""
    started = time.monotonic()
    settings = plan.settings
    device = plan.device
    network.to(device)
    training = torch.as_tensor(codes, device=device)
    plain = torch.as_tensor(plain_codes, device=device) if plan.equalities and plain_codes is not None else None
    n_columns = int(column_of_sub.max()) + 1 if len(column_of_sub) else 0
    noise = torch.Generator(device=device).manual_seed(int(rng.integers(0, 2**63 - 1)))
    optimizer = _optimizer(network, settings, dp, noise)
    accountant = make_accountant(dp.accountant)
    accountant.history = list(dp.prior)  # the statistics learned before training: ε starts with theirs
    ema = copy.deepcopy(network)
    ema.requires_grad_(False)
    progress = Progress(plan.show_progress)
    report = TrainingReport()
    steps_per_epoch = max(1, round(1 / dp.sample_rate))
    steps = 0
    epsilon_history: list[float] = []
    while steps < dp.steps:
        n_steps = min(steps_per_epoch, dp.steps - steps)
        loss, out_of_time = _run_epoch(
            network, ema, optimizer, accountant, (training, plain, column_of_sub, n_columns),
            plan, dp, rng, n_steps, started,
        )
        steps += n_steps if not out_of_time else out_of_time
        report.epochs += 1
        with warnings.catch_warnings():  # the accountant's notes on its numerics; its bound holds
            warnings.simplefilter("ignore")
            spent = float(accountant.get_epsilon(delta=dp.delta))
        epsilon_history.append(spent)
        elapsed = time.monotonic() - started
        report.history.append({"epoch": report.epochs, "loss": loss, "epsilon": spent, "seconds": elapsed})
        progress.epoch(report.epochs, loss, math.nan, False, elapsed)
        if out_of_time:
            report.stopped_because = f"time budget of {settings.max_training_seconds:g} s reached (ε {spent:.3g})"
            break
    else:
        report.stopped_because = f"privacy budget: the {dp.steps} planned DP-SGD steps are done"
    network.load_state_dict(ema.state_dict())
    network.to("cpu")
    network.eval()
    report.best_epoch = report.epochs
    report.seconds = time.monotonic() - started
    progress.finished(report)
    return report, {"steps": steps, "epsilon_per_epoch": epsilon_history, "epsilon": epsilon_history[-1]}


def _optimizer(network: ARGNNetwork, settings: Any, dp: DPPlan, noise_generator: torch.Generator) -> Any:
    """AdamW inside opacus' optimizer, which adds the noise to the clipped sum and averages it."""
    from opacus.optimizers import DPOptimizerFastGradientClipping

    check_parameters(network)
    return DPOptimizerFastGradientClipping(
        torch.optim.AdamW(
            network.parameters(), lr=settings.learning_rate * DP_LEARNING_RATE_SCALE, weight_decay=settings.weight_decay
        ),
        noise_multiplier=dp.noise_multiplier,
        max_grad_norm=dp.max_grad_norm,
        expected_batch_size=dp.expected_batch_size,
        loss_reduction="mean",
        generator=noise_generator,
    )


def _run_epoch(
    network: ARGNNetwork,
    ema: ARGNNetwork,
    optimizer: Any,
    accountant: Any,
    data: tuple[torch.Tensor, torch.Tensor | None, np.ndarray, int],
    plan: TrainingPlan,
    dp: DPPlan,
    rng: np.random.Generator,
    n_steps: int,
    started: float,
) -> tuple[float, int]:
    """``n_steps`` DP-SGD steps; (mean loss per row, 0 or the steps taken when the time limit ran out)."""
    training, plain, column_of_sub, n_columns = data
    settings = plan.settings
    network.train()
    total, rows_seen = 0.0, 0
    for step in range(n_steps):
        rows = torch.as_tensor(np.flatnonzero(rng.random(len(training)) < dp.sample_rate), device=plan.device)
        positions = [
            column_positions(n_columns, rng.random() < settings.canonical_order_share, rng)
            for _ in range(plan.order_groups)
        ]
        batch = training[rows]
        if plain is not None:
            batch = uncode_late_references(batch, plain[rows], positions, plan.equalities)
        masks = torch.as_tensor(np.stack([order_mask(p, column_of_sub) for p in positions]), device=plan.device)
        loss_sum = clipped_gradients(network, batch, masks, dp.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        accountant.step(noise_multiplier=dp.noise_multiplier, sample_rate=dp.sample_rate)
        with torch.no_grad():
            for average, current in zip(ema.parameters(), network.parameters(), strict=True):
                average.lerp_(current, 1.0 - settings.ema_decay)
        total += loss_sum
        rows_seen += len(rows)
        limit = settings.max_training_seconds
        if limit is not None and time.monotonic() - started > limit:
            return total / max(rows_seen, 1), step + 1
    return total / max(rows_seen, 1), 0


def plan_for(settings: Any, n_rows: int) -> tuple[BudgetSplit, DPPlan]:
    """The budget split and the DP-SGD plan of a fit on ``n_rows`` rows (raises before training when too small)."""
    split = split_budget(settings.privacy, n_rows, trains_with_sgd=True)
    dp = plan_dp_sgd(
        n_rows,
        epsilon=split.training_epsilon,
        delta=split.training_delta,
        expected_batch_size=dp_batch_size(n_rows, settings.batch_size),
        epochs=min(int(settings.max_epochs), DP_EPOCHS),
        statistics_share=privacy_budget.STATISTICS_SHARE,
    )
    log.info(
        "argn: DP statistics (noise %.3g) and DP-SGD within ε=%.3g, δ=%.3g (total δ=%.3g with the thresholds'): "
        "%d steps, sampling rate %.4f, noise multiplier %.3f, clipping norm %g, %s accountant",
        dp.statistics_noise, dp.epsilon, dp.delta, split.delta, dp.steps, dp.sample_rate, dp.noise_multiplier,
        dp.max_grad_norm, dp.accountant,
    )
    return split, dp


def privacy_record(split: BudgetSplit, dp: DPPlan, books: dict[str, Any], statistics: dict[str, Any] | None) -> dict:
    """What a model keeps about its privacy: ε and δ spent in all, the budget, and how DP-SGD ran.

    The total ε is the accountant's, which holds the statistics' Gaussian mechanism (as planned:
    at least what ``statistics``, their books, spent) and the steps taken; the total δ adds the
    vocabulary thresholds' δ to the accountant's. ``statistics_epsilon`` and ``training_epsilon``
    are each part's own guarantee, for information (they do not add up to the total).
    """
    if statistics is None:
        log.warning("argn: the statistics learned outside SGD (categories, bins) are not differentially private here")
    steps = int(books["steps"])
    threshold_delta = float(statistics.get("threshold_delta", 0.0)) if statistics else 0.0
    return {
        "epsilon": float(books["epsilon"]),
        "delta": threshold_delta + dp.delta,
        "epsilon_budget": split.epsilon,
        "delta_budget": split.delta,
        "statistics_private": statistics is not None,  # False: categories and bins learned without DP
        "statistics_epsilon": float(statistics["epsilon"]) if statistics else 0.0,
        "statistics_delta": float(statistics["delta"]) if statistics else 0.0,
        "statistics_noise": dp.statistics_noise,
        "training_epsilon": epsilon_after(dp.noise_multiplier, dp.sample_rate, steps, dp.delta, dp.accountant),
        "training_delta": dp.delta,
        "noise_multiplier": dp.noise_multiplier,
        "max_grad_norm": dp.max_grad_norm,
        "sampling_rate": dp.sample_rate,
        "expected_batch_size": dp.expected_batch_size,
        "steps": steps,
        "planned_steps": dp.steps,
        "accountant": dp.accountant,
        "mechanism": "DP-SGD (opacus DPOptimizer: per-row clipping, Gaussian noise, Poisson sampling)",
        "composition": split.composition,
        "early_stopping": "none under privacy (no validation split: all training rows train, the last weights kept)",
    }
