"""Training loop: order-randomized maximum likelihood with early stopping and a cell budget (``max_cells_seen``)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from synth_pipeline.generators.argn.budget import COUNT, LEFT, Budget
from synth_pipeline.generators.argn.encoders import Equality
from synth_pipeline.generators.argn.model import ARGNNetwork, group_bounds
from synth_pipeline.generators.argn.optimizer import AdamW
from synth_pipeline.generators.argn.rare_contexts import head_weights
from synth_pipeline.generators.argn.settings import ARGNSettings
from synth_pipeline.progress import LiveProgress, stderr_is_terminal

log = logging.getLogger("synth_pipeline.generators.argn")


@dataclass
class TrainingPlan:
    """What the loop needs: the generator's settings and what fitting derived from them and the table."""

    settings: ARGNSettings
    batch_size: int
    device: torch.device
    show_progress: bool
    equalities: list[Equality] = field(default_factory=list)
    #: rare categorical values' weights as context: (sub-columns, (n, those) weights), see rare_contexts
    rare_values: tuple[np.ndarray, np.ndarray] | None = None
    #: groups of rows per batch, each trained in its own column order
    order_groups: int = 4
    #: the weight decay multiplied by this (few rows per category code: see regularization)
    decay_factor: float = 1.0


@dataclass
class TrainingReport:
    """What happened, kept with the model."""

    epochs: int = 0
    best_epoch: int = 0
    best_validation_loss: float = math.nan
    #: epochs on all rows (validation rows too) after early stopping (``final_epochs``)
    final_epochs: int = 0
    stopped_because: str = ""
    #: training rows seen (mini-batch rows over all steps, final epochs included) times the model's columns
    cells_seen: int = 0
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


@contextlib.contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Use ``n_threads`` intra-op threads inside the block (a fixed count keeps CPU results reproducible)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def column_positions(n_columns: int, canonical: bool, rng: np.random.Generator) -> np.ndarray:
    """Position of each column in one training order.

    Canonical: table order. Otherwise a random number of columns, chosen at
    random, go first in random order and the others follow in table order,
    which is exactly the family of orders sampling uses (fixed columns first).
    """
    if canonical or n_columns < 2:
        return np.arange(n_columns)
    prefix_size = int(rng.integers(1, n_columns + 1))
    prefix = rng.permutation(n_columns)[:prefix_size]
    rest = np.setdiff1d(np.arange(n_columns), prefix)
    order = np.concatenate([prefix, rest])
    positions = np.empty(n_columns, dtype=np.int64)
    positions[order] = np.arange(n_columns)
    return positions


def order_mask(positions: np.ndarray, column_of_sub: np.ndarray) -> np.ndarray:
    """(S, S) float mask: ``[t, s]`` is 1 when sub-column ``s`` precedes ``t``."""
    within = np.zeros(len(column_of_sub), dtype=np.int64)
    for s in range(1, len(column_of_sub)):
        if column_of_sub[s] == column_of_sub[s - 1]:
            within[s] = within[s - 1] + 1
    key = positions[column_of_sub] * 4 + within
    return (key[None, :] < key[:, None]).astype(np.float32)


def train(
    network: ARGNNetwork,
    codes: np.ndarray,
    column_of_sub: np.ndarray,
    plan: TrainingPlan,
    rng: np.random.Generator,
    *,
    plain_codes: np.ndarray | None = None,
) -> TrainingReport:
    """Fit ``network`` to ``codes`` ((n, S) ints) in place; the best weights on the validation split are kept.

    The codes stay in the integer type they come in (:func:`compact_codes`: int16 for most tables) on the device;
    each mini-batch is widened to int64 as it is drawn, so memory follows the compact codes.

    ``plain_codes`` are the codes without "equal to an earlier column" codes: in a
    training order where a column comes before its reference, it is coded by its bin.
    """
    settings = plan.settings
    budget = Budget(settings.max_cells_seen, settings.max_training_seconds)  # cells seen; seconds when set
    data = _split(codes, plain_codes, column_of_sub, plan, rng)
    network.to(plan.device)
    decay = settings.weight_decay * plan.decay_factor  # few rows per category code: stronger (see regularization)
    optimizer = AdamW(network.parameters(), lr=settings.learning_rate, weight_decay=decay)
    stopping = EarlyStopping(settings.patience, network.state_dict())
    # An exponential moving average of the weights is what gets validated and kept:
    # it smooths the last steps' noise, which shows as better-calibrated samples.
    dropout_generator = torch.Generator(device=plan.device).manual_seed(int(rng.integers(0, 2**63 - 1)))
    ema = copy.deepcopy(network)
    ema.requires_grad_(False)
    progress = Progress(plan.show_progress)
    report = TrainingReport()
    for epoch in range(1, settings.max_epochs + 1):
        train_loss, spent = _run_epoch(network, ema, optimizer, data, plan, rng, dropout_generator, budget)
        validation_loss = _evaluate(ema, data.validation, data.canonical_mask) if len(data.validation) else train_loss
        elapsed = time.monotonic() - budget.started
        report.epochs = epoch
        row = {"epoch": epoch, "loss": train_loss, "validation_loss": validation_loss, "seconds": elapsed}
        report.history.append(row)
        improved = stopping.update(validation_loss, ema)
        report.best_epoch = epoch if improved else report.best_epoch
        progress.epoch(epoch, train_loss, validation_loss, improved, elapsed)
        if spent != LEFT:
            report.stopped_because = _out_of_budget(settings, epoch, spent, budget)
            break
        if stopping.patience_spent():
            if stopping.lower_learning_rate(network, ema, optimizer):
                continue
            report.stopped_because = f"validation loss did not improve for {settings.patience} epochs"
            break
    else:
        report.stopped_because = f"max_epochs={settings.max_epochs} reached"
    report.final_epochs = 0 if spent != LEFT else _finish_on_all_rows(  # learn from the validation rows too
        network, ema, stopping, optimizer, data, plan, rng, dropout_generator, budget
    )
    network.load_state_dict(stopping.best_state)
    network.to("cpu").eval()
    report.best_validation_loss, report.cells_seen = stopping.best_loss, budget.count
    report.seconds = time.monotonic() - budget.started
    progress.finished(report)
    return report


@dataclass
class _TrainingData:
    """The codes on the device, split into training and validation rows."""

    training: torch.Tensor
    validation: torch.Tensor
    plain: torch.Tensor | None  # training rows without "equal to" codes (None: no equalities)
    canonical_mask: torch.Tensor  # (1, S, S) order mask of the table order, for validation
    rare_subs: torch.Tensor | None  # sub-columns whose rare values weigh more as context (None: unweighted)
    rare_cells: torch.Tensor | None  # (training rows, rare_subs) those cells' weights
    validation_plain: torch.Tensor | None
    validation_rare_cells: torch.Tensor | None
    column_of_sub: np.ndarray
    n_columns: int
    batch_size: int
    steps_per_epoch: int


def _split(
    codes: np.ndarray,
    plain_codes: np.ndarray | None,
    column_of_sub: np.ndarray,
    plan: TrainingPlan,
    rng: np.random.Generator,
) -> _TrainingData:
    device = plan.device
    n_rows = len(codes)
    n_columns = int(column_of_sub.max()) + 1 if len(column_of_sub) else 0
    permutation = rng.permutation(n_rows)
    n_validation = round(plan.settings.validation_share * n_rows) if n_rows >= 20 else 0
    training = torch.as_tensor(codes[permutation[n_validation:]], device=device)
    plain = validation_plain = None
    if plan.equalities and plain_codes is not None:
        plain = torch.as_tensor(plain_codes[permutation[n_validation:]], device=device)
        validation_plain = torch.as_tensor(plain_codes[permutation[:n_validation]], device=device)
    batch_size = max(1, min(plan.batch_size, len(training)))
    rare_subs = rare_cells = validation_rare_cells = None
    if plan.rare_values is not None:
        rare_subs = torch.as_tensor(plan.rare_values[0], device=device)
        rare_cells = torch.as_tensor(plan.rare_values[1][permutation[n_validation:]], device=device)
        validation_rare_cells = torch.as_tensor(plan.rare_values[1][permutation[:n_validation]], device=device)
    return _TrainingData(
        training=training,
        validation=torch.as_tensor(codes[permutation[:n_validation]], device=device),
        plain=plain,
        canonical_mask=torch.as_tensor(order_mask(np.arange(n_columns), column_of_sub), device=device)[None],
        rare_subs=rare_subs,
        rare_cells=rare_cells,
        validation_plain=validation_plain,
        validation_rare_cells=validation_rare_cells,
        column_of_sub=column_of_sub,
        n_columns=n_columns,
        batch_size=batch_size,
        steps_per_epoch=max(1, len(training) // batch_size),
    )


#: tables with fewer rows skip ``final_epochs``: on sim_race_splits (1,350 rows) they raised the DCR share by
#: 0.4-0.5 pp at the same accuracy; measured to help on census and bank_marketing (22,000-24,000 rows) and on
#: creditcard_default (15,000 rows: +0.07 / +0.11 pp overall on seeds 0 / 1, DCR share unchanged; README)
FINAL_EPOCHS_MIN_ROWS = 10_000


def _finish_on_all_rows(
    network: ARGNNetwork,
    ema: ARGNNetwork,
    stopping: EarlyStopping,
    optimizer: AdamW,
    data: _TrainingData,
    plan: TrainingPlan,
    rng: np.random.Generator,
    dropout_generator: torch.Generator,
    budget: Budget,
) -> int:
    """Train ``final_epochs`` more epochs on training and validation rows together, at the last learning rate.

    Early stopping chose the weights on the validation rows; these epochs let the model learn from them
    too (the metric that matters compares with the whole training table). They start from the best weights
    and end with the moving average of the weights in ``stopping.best_state``. Only on tables of at least
    ``FINAL_EPOCHS_MIN_ROWS`` rows; they spend from the same ``budget`` (and stop where it runs out). The number
    of epochs run.
    """
    if not plan.settings.final_epochs or len(data.training) + len(data.validation) < FINAL_EPOCHS_MIN_ROWS:
        return 0

    def both(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
        return None if a is None or b is None else torch.cat([a, b])
    training = torch.cat([data.training, data.validation])
    merged = dataclasses.replace(
        data, training=training, plain=both(data.plain, data.validation_plain),
        rare_cells=both(data.rare_cells, data.validation_rare_cells),
        steps_per_epoch=max(1, len(training) // data.batch_size),
    )
    network.load_state_dict(stopping.best_state)
    ema.load_state_dict(stopping.best_state)
    epochs, spent = 0, LEFT
    while epochs < plan.settings.final_epochs and spent == LEFT:
        _, spent = _run_epoch(network, ema, optimizer, merged, plan, rng, dropout_generator, budget)
        epochs += 1
    stopping.best_state = copy.deepcopy(ema.state_dict())
    return epochs


def _out_of_budget(settings: ARGNSettings, epoch: int, spent: str, budget: Budget) -> str:
    """Why training stopped at a budget before early stopping, with a warning that says what that means."""
    if spent == COUNT:
        log.warning(
            "argn: training stopped at its cell budget (max_cells_seen=%d; %d cells seen: training rows times "
            "columns) after %d epochs, before early stopping: the model is reproducible (the same data, settings "
            "and seed give it on any machine) but may be under-trained; raise max_cells_seen to let early "
            "stopping end training",
            settings.max_cells_seen, budget.count, epoch,
        )
        return f"cell budget of {settings.max_cells_seen:,} reached"
    log.warning(
        "argn: training stopped at its time budget (max_training_seconds=%g) after %d epochs, before early "
        "stopping: the model depends on this machine's speed and load; for a model that the same data, "
        "settings and seed reproduce anywhere, leave max_training_seconds unset and cap max_cells_seen or "
        "max_epochs instead",
        settings.max_training_seconds, epoch,
    )
    return f"time budget of {settings.max_training_seconds:g} s reached"


def budget_text(settings: ARGNSettings) -> str:
    """The training budget as the fit's log line says it: the cells, and the seconds when a time limit is set."""
    text = f"{settings.max_cells_seen:,} cells seen"
    if settings.max_training_seconds is not None:
        text += f" or {settings.max_training_seconds:g} s"
    return text


def _run_epoch(
    network: ARGNNetwork,
    ema: ARGNNetwork,
    optimizer: AdamW,
    data: _TrainingData,
    plan: TrainingPlan,
    rng: np.random.Generator,
    dropout_generator: torch.Generator,
    budget: Budget,
) -> tuple[float, str]:
    """One pass over the training rows in random batches; (mean loss, :meth:`Budget.spend`'s last answer).

    Each step spends its rows times the model's columns from ``budget``; the epoch ends early where it runs out.
    """
    settings = plan.settings
    network.train()
    order = torch.as_tensor(rng.permutation(len(data.training)), device=plan.device)
    running = 0.0
    averages, currents = list(ema.parameters()), list(network.parameters())
    for step in range(data.steps_per_epoch):
        rows = order[step * data.batch_size : (step + 1) * data.batch_size]
        batch = data.training[rows].long()  # the codes are kept compact (int16/int32), a batch is widened
        positions = [
            column_positions(data.n_columns, rng.random() < settings.canonical_order_share, rng)
            for _ in range(plan.order_groups)
        ]
        masks = np.stack([order_mask(p, data.column_of_sub) for p in positions])
        if data.plain is not None:
            batch = uncode_late_references(batch, data.plain[rows].long(), positions, plan.equalities)
        masks_t = torch.as_tensor(masks, device=plan.device)
        weights = None
        if data.rare_cells is not None and data.rare_subs is not None:
            weights = head_weights(data.rare_cells[rows], data.rare_subs, masks_t, group_bounds(len(rows), len(masks)))
        loss = network.loss(batch, masks_t, dropout=settings.dropout, generator=dropout_generator, weights=weights)
        objective = loss
        if settings.input_sparsity:
            objective = loss + settings.input_sparsity * network.input_group_norms()
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(averages, currents, 1.0 - settings.ema_decay)
        running += float(loss.detach())
        spent = budget.spend(len(rows) * data.n_columns)
        if spent != LEFT:
            return running / (step + 1), spent
    return running / data.steps_per_epoch, LEFT


class EarlyStopping:
    """The best weights so far, and when to lower the learning rate or stop.

    After ``patience`` epochs without a better validation loss the learning rate is
    lowered (twice at most, back at the best weights): late, small steps still help.
    The third time patience runs out, training stops.
    """

    MAX_LR_DROPS = 2
    LR_FACTOR = 0.3
    MIN_IMPROVEMENT = 1e-4

    def __init__(self, patience: int, initial_state: dict[str, torch.Tensor]) -> None:
        self.patience = patience
        self.best_state = copy.deepcopy(initial_state)
        self.best_loss = math.inf
        self.bad_epochs = 0
        self.lr_drops = 0

    def update(self, validation_loss: float, ema: ARGNNetwork) -> bool:
        """Record an epoch's validation loss; keep ``ema``'s weights when it is the best. True when it is."""
        if validation_loss < self.best_loss - self.MIN_IMPROVEMENT:
            self.best_loss = validation_loss
            self.best_state = copy.deepcopy(ema.state_dict())
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        return False

    def patience_spent(self) -> bool:
        """Whether ``patience`` epochs have passed without improvement."""
        return self.bad_epochs >= self.patience

    def lower_learning_rate(self, network: ARGNNetwork, ema: ARGNNetwork, optimizer: AdamW) -> bool:
        """Go back to the best weights with a lower learning rate; False when it was lowered enough already."""
        if self.lr_drops >= self.MAX_LR_DROPS:
            return False
        self.lr_drops += 1
        self.bad_epochs = 0
        network.load_state_dict(self.best_state)
        ema.load_state_dict(self.best_state)
        for group in optimizer.param_groups:
            group["lr"] *= self.LR_FACTOR
        return True


class Progress:
    """Progress of the loop: a live line on a terminal (epoch, losses, best, elapsed), else a log line per epoch.

    No total and no time left: early stopping ends training at an epoch nobody
    knows in advance, and the cell budget (and the time limit, when set) is a limit, not an estimate.
    """

    BAR_FORMAT = "{desc}: epoch {n_fmt}{postfix} | {elapsed} elapsed"

    def __init__(self, show_bar: bool) -> None:
        self.bar = LiveProgress("argn training", unit="epoch", enabled=show_bar, bar_format=self.BAR_FORMAT)
        self.best = (math.inf, 0)

    def epoch(self, epoch: int, train_loss: float, validation_loss: float, improved: bool, elapsed: float) -> None:
        """Report one finished epoch."""
        if improved:
            self.best = (validation_loss, epoch)
        # with a live line on the terminal, a log line per epoch would only scroll it away
        log.log(
            logging.DEBUG if self.bar.enabled else logging.INFO,
            "epoch %d: loss %.4f, validation loss %.4f%s, %.1f s elapsed",
            epoch, train_loss, validation_loss, " (best)" if improved else "", elapsed,
        )
        self.bar.update(
            1, f"loss {train_loss:.4f}, validation loss {validation_loss:.4f}, "
            f"best {self.best[0]:.4f} (epoch {self.best[1]})"
        )

    def finished(self, report: TrainingReport) -> None:
        """Close the live line and log why training stopped."""
        self.bar.close()
        log.info(
            "training stopped after %d epochs (%s); best validation loss %.4f at epoch %d; "
            "%d more on all rows; %.1f s",
            report.epochs, report.stopped_because, report.best_validation_loss, report.best_epoch,
            report.final_epochs, report.seconds,
        )


def uncode_late_references(
    batch: torch.Tensor,
    plain: torch.Tensor,
    positions: list[np.ndarray],
    equalities: list[Equality],
) -> torch.Tensor:
    """``batch`` with "equal to column r" codes replaced by bin codes in the groups whose order puts r later.

    A head can only copy a value that comes before it, which is also how sampling
    encodes a fixed value whose reference is not fixed.
    """
    bounds = group_bounds(len(batch), len(positions))
    out = batch
    for g, position in enumerate(positions):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        for equality in equalities:
            late = [code for code, r in equality.codes if position[r] > position[equality.column]]
            if not late:
                continue
            if out is batch:
                out = batch.clone()
            subs = slice(equality.first_sub, equality.first_sub + equality.n_subs)
            coded_late = torch.isin(out[lo:hi, equality.first_sub], torch.as_tensor(late, device=out.device))
            rows = lo + torch.nonzero(coded_late).squeeze(1)
            out[rows, subs] = plain[rows, subs]
    return out


@torch.no_grad()
def _evaluate(network: ARGNNetwork, codes: torch.Tensor, mask: torch.Tensor) -> float:
    network.eval()
    total = 0.0
    chunk = 8192
    for start in range(0, len(codes), chunk):
        part = codes[start : start + chunk].long()
        total += float(network.loss(part, mask)) * len(part)
    return total / max(len(codes), 1)


def compact_codes(codes: np.ndarray, cardinalities: np.ndarray) -> np.ndarray:
    """``codes`` in the narrowest signed integer type that holds every code (int16 up to 32,767 codes)."""
    largest = int(cardinalities.max()) if len(cardinalities) else 0
    for kind in (np.int16, np.int32):
        if largest <= np.iinfo(kind).max:
            return codes.astype(kind, copy=False)
    return codes


def default_threads() -> int:
    """Threads for torch on CPU: all cores up to 4 (beyond that small matrices gain little)."""
    return max(1, min(4, os.cpu_count() or 1))


def show_progress_default() -> bool:
    """Show a progress bar when stderr is a terminal."""
    return stderr_is_terminal()
