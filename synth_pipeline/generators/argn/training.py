"""Training loop: order-randomized maximum likelihood with early stopping and a time budget."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from synth_pipeline.generators.argn.encoders import Equality
from synth_pipeline.generators.argn.model import ARGNNetwork, group_bounds

log = logging.getLogger("synth_pipeline.generators.argn")


@dataclass
class TrainingSettings:
    """What the loop needs; the generator fills it from its own settings."""

    max_epochs: int
    max_seconds: float
    batch_size: int
    learning_rate: float
    weight_decay: float
    validation_share: float
    patience: int
    canonical_share: float
    order_groups: int
    ema_decay: float
    dropout: float
    show_progress: bool
    device: torch.device
    input_sparsity: float = 0.0
    equalities: list[Equality] = field(default_factory=list)


@dataclass
class TrainingReport:
    """What happened, kept with the model."""

    epochs: int = 0
    best_epoch: int = 0
    best_validation_loss: float = math.nan
    stopped_because: str = ""
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
    settings: TrainingSettings,
    rng: np.random.Generator,
    *,
    plain_codes: np.ndarray | None = None,
) -> TrainingReport:
    """Fit ``network`` to ``codes`` ((n, S) ints) in place; the best weights on the validation split are kept.

    ``plain_codes`` are the codes without "equal to an earlier column" codes: in a
    training order where a column comes before its reference, it is coded by its bin.
    """
    started = time.monotonic()
    device = settings.device
    n_rows = len(codes)
    n_columns = int(column_of_sub.max()) + 1 if len(column_of_sub) else 0
    permutation = rng.permutation(n_rows)
    n_validation = round(settings.validation_share * n_rows) if n_rows >= 20 else 0
    validation = torch.as_tensor(codes[permutation[:n_validation]], device=device)
    training = torch.as_tensor(codes[permutation[n_validation:]], device=device)
    plain = None
    if settings.equalities and plain_codes is not None:
        plain = torch.as_tensor(plain_codes[permutation[n_validation:]], device=device)
    canonical_mask = torch.as_tensor(order_mask(np.arange(n_columns), column_of_sub), device=device)[None]
    network.to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    batch_size = max(1, min(settings.batch_size, len(training)))
    steps_per_epoch = max(1, len(training) // batch_size)
    report = TrainingReport()
    best_state = copy.deepcopy(network.state_dict())
    best_loss = math.inf
    bad_epochs = 0
    lr_drops = 0
    # An exponential moving average of the weights is what gets validated and kept:
    # it smooths the last steps' noise, which shows as better-calibrated samples.
    dropout_generator = torch.Generator(device=device).manual_seed(int(rng.integers(0, 2**63 - 1)))
    ema = copy.deepcopy(network)
    ema.requires_grad_(False)
    bar = _progress_bar(settings)
    for epoch in range(1, settings.max_epochs + 1):
        network.train()
        order = torch.as_tensor(rng.permutation(len(training)), device=device)
        running = 0.0
        out_of_time = False
        for step in range(steps_per_epoch):
            rows = order[step * batch_size : (step + 1) * batch_size]
            batch = training[rows]
            positions = [
                column_positions(n_columns, rng.random() < settings.canonical_share, rng)
                for _ in range(settings.order_groups)
            ]
            masks = np.stack([order_mask(p, column_of_sub) for p in positions])
            if plain is not None:
                batch = uncode_late_references(batch, plain[rows], positions, settings.equalities)
            loss = network.loss(
                batch, torch.as_tensor(masks, device=device), dropout=settings.dropout, generator=dropout_generator
            )
            objective = loss
            if settings.input_sparsity:
                objective = loss + settings.input_sparsity * network.input_group_norms()
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            with torch.no_grad():
                for average, current in zip(ema.parameters(), network.parameters(), strict=True):
                    average.lerp_(current, 1.0 - settings.ema_decay)
            running += float(loss.detach())
            if time.monotonic() - started > settings.max_seconds:
                out_of_time = True
                break
        train_loss = running / (step + 1)
        validation_loss = _evaluate(ema, validation, canonical_mask) if n_validation else train_loss
        elapsed = time.monotonic() - started
        report.epochs = epoch
        report.history.append(
            {"epoch": epoch, "loss": train_loss, "validation_loss": validation_loss, "seconds": elapsed}
        )
        improved = validation_loss < best_loss - 1e-4
        if improved:
            best_loss = validation_loss
            best_state = copy.deepcopy(ema.state_dict())
            report.best_epoch = epoch
            bad_epochs = 0
        else:
            bad_epochs += 1
        per_epoch = elapsed / epoch
        eta = min(settings.max_seconds - elapsed, per_epoch * (settings.max_epochs - epoch))
        log.info(
            "epoch %d: loss %.4f, validation loss %.4f%s, %.1f s elapsed, at most %.0f s left",
            epoch, train_loss, validation_loss, " (best)" if improved else "", elapsed, max(eta, 0.0),
        )
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{validation_loss:.3f}")
        if out_of_time:
            report.stopped_because = f"time budget of {settings.max_seconds:g} s reached"
            break
        if bad_epochs >= settings.patience:
            if lr_drops < 2:
                # Halve the learning rate before giving up: late, small steps still help.
                lr_drops += 1
                bad_epochs = 0
                network.load_state_dict(best_state)
                ema.load_state_dict(best_state)
                for group in optimizer.param_groups:
                    group["lr"] *= 0.3
                continue
            report.stopped_because = f"validation loss did not improve for {settings.patience} epochs"
            break
    else:
        report.stopped_because = f"max_epochs={settings.max_epochs} reached"
    if bar is not None:
        bar.close()
    network.load_state_dict(best_state)
    network.to("cpu")
    network.eval()
    report.best_validation_loss = best_loss
    report.seconds = time.monotonic() - started
    log.info(
        "training stopped after %d epochs (%s); best validation loss %.4f at epoch %d, %.1f s",
        report.epochs, report.stopped_because, best_loss, report.best_epoch, report.seconds,
    )
    return report


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
        part = codes[start : start + chunk]
        total += float(network.loss(part, mask)) * len(part)
    return total / max(len(codes), 1)


def _progress_bar(settings: TrainingSettings):
    if not settings.show_progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm ships with the dependencies
        return None
    return tqdm(total=settings.max_epochs, desc="argn training", unit="epoch", leave=False)


def default_threads() -> int:
    """Threads for torch on CPU: all cores up to 4 (beyond that small matrices gain little)."""
    return max(1, min(4, os.cpu_count() or 1))


def show_progress_default() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
