"""ARGNGenerator: the flagship autoregressive generator (in the family of TabularARGN)."""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn.encoders import TableEncoder
from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.sampling import sample_codes
from synth_pipeline.generators.argn.training import (
    TrainingSettings,
    default_threads,
    show_progress_default,
    torch_threads,
    train,
)
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.request import SamplingRequest

log = logging.getLogger("synth_pipeline.generators.argn")


class ARGNGenerator(Generator):
    """Autoregressive neural generator: every column becomes discrete sub-columns,
    one small network per sub-column predicts it from those before it.

    Training randomizes the column order (a random subset of columns first, the
    rest in table order), so any set of columns can condition the others:
    seeded sampling, rebalancing and imputation are exact conditional sampling,
    not rejection. Plain sampling uses the table order. See
    :mod:`synth_pipeline.generators.argn.encoders` for how each column kind is
    encoded and how rare values are protected.

    Settings (all keyword-only, defaults meant for tables nobody tuned):

    * ``max_training_seconds``: time budget of the training loop.
    * ``max_epochs``, ``patience``: epochs at most; stop after ``patience`` epochs
      without a better validation loss (twice the learning rate is lowered first).
    * ``validation_share``: share of the training rows held out for early stopping.
    * ``batch_size``, ``learning_rate``, ``weight_decay``: optimizer (AdamW); batch
      size ``None`` picks one from the number of rows. The strong default decay (0.3)
      measured better validation loss, accuracy and DCR share on census (3 seeds).
    * ``embedding_dim``, ``hidden_size``: network width (``None``: picked from the table).
    * ``rare_category_threshold``: category values (and exact numbers) seen fewer
      times are pooled and never generated.
    * ``n_bins``, ``n_levels``: quantile bins of continuous numbers and slices per bin.
    * ``max_exact_values``: numbers with at most this many frequent values keep them exactly.
    * ``canonical_order_share``: share of training orders that are the table order.
    * ``ema_decay``: decay of the moving average of the weights that is validated and kept (0: none).
    * ``dropout``: share of hidden units dropped in training (regularization).
    * ``input_sparsity``: weight of a group-lasso penalty on the heads' first-layer weights,
      one group per (head, number input sub-column): each head learns to read few numbers,
      which limits how far it can single out training rows by their combination of values
      (categorical inputs stay free, so a rare class still conditions the rest). 0: off.
    * ``device``: ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
    * ``n_threads``: CPU threads for torch (``None``: all cores up to 4).
    * ``show_progress``: progress bar (``None``: when stderr is a terminal).
    """

    name: ClassVar[str] = "argn"

    def __init__(
        self,
        *,
        random_state: int | None = None,
        column_kinds: dict[str, str] | None = None,
        rules: Any = None,
        infer_rules: bool = False,
        max_training_seconds: float = 600.0,
        max_epochs: int = 200,
        patience: int = 4,
        validation_share: float = 0.1,
        batch_size: int | None = None,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.3,
        embedding_dim: int | None = None,
        hidden_size: int | None = None,
        rare_category_threshold: int = 5,
        n_bins: int = 64,
        n_levels: int = 8,
        max_exact_values: int = 128,
        canonical_order_share: float = 0.5,
        ema_decay: float = 0.98,
        dropout: float = 0.25,
        input_sparsity: float = 0.005,
        device: str = "auto",
        n_threads: int | None = None,
        show_progress: bool | None = None,
    ) -> None:
        super().__init__(random_state=random_state, column_kinds=column_kinds, rules=rules, infer_rules=infer_rules)
        self.max_training_seconds = max_training_seconds
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_share = validation_share
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.rare_category_threshold = rare_category_threshold
        self.n_bins = n_bins
        self.n_levels = n_levels
        self.max_exact_values = max_exact_values
        self.canonical_order_share = canonical_order_share
        self.ema_decay = ema_decay
        self.dropout = dropout
        self.input_sparsity = input_sparsity
        self.device = device
        self.n_threads = n_threads
        self.show_progress = show_progress

    # -- settings -----------------------------------------------------------------------
    def _validate_params(self) -> None:
        super()._validate_params()

        def number(name: str, *, low: float, high: float = math.inf, integer: bool = False, optional: bool = False,
                   low_open: bool = False) -> None:
            value = getattr(self, name)
            if value is None and optional:
                return
            ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
            if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):
                kind = "an integer" if integer else "a number"
                raise ConfigError(f"{name} must be {kind}{' or None' if optional else ''}, got {value!r}")
            too_low = value <= low if low_open else value < low
            if too_low or value > high:
                bound = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high != math.inf else "")
                raise ConfigError(f"{name} must be {bound}, got {value!r}")

        number("max_training_seconds", low=0, low_open=True)
        number("max_epochs", low=1, integer=True)
        number("patience", low=1, integer=True)
        number("validation_share", low=0, high=0.5)
        number("batch_size", low=1, integer=True, optional=True)
        number("learning_rate", low=0, high=1, low_open=True)
        number("weight_decay", low=0)
        number("embedding_dim", low=1, high=512, integer=True, optional=True)
        number("hidden_size", low=1, high=4096, integer=True, optional=True)
        number("rare_category_threshold", low=1, integer=True)
        number("n_bins", low=1, high=1024, integer=True)
        number("n_levels", low=1, high=1024, integer=True)
        number("max_exact_values", low=0, high=1000, integer=True)
        number("canonical_order_share", low=0, high=1)
        number("ema_decay", low=0, high=0.9999)
        number("dropout", low=0, high=0.9)
        number("input_sparsity", low=0)
        number("n_threads", low=1, high=256, integer=True, optional=True)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device='cuda' but no CUDA GPU is available; use device='auto' or 'cpu'")
        if self.show_progress is not None and not isinstance(self.show_progress, bool):
            raise ConfigError(f"show_progress must be true, false or None, got {self.show_progress!r}")

    def _torch_device(self) -> torch.device:
        if self.device == "cuda" or (self.device == "auto" and torch.cuda.is_available()):
            return torch.device("cuda")
        return torch.device("cpu")

    def _threads(self) -> int:
        return int(self.n_threads) if self.n_threads is not None else default_threads()

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, training: pd.DataFrame, rng: np.random.Generator) -> None:
        kinds = {name: self.schema_.kind(name) for name in training.columns}
        self.encoder_ = TableEncoder.fit(
            training,
            kinds,
            rare_threshold=int(self.rare_category_threshold),
            n_bins=int(self.n_bins),
            n_levels=int(self.n_levels),
            max_exact_values=int(self.max_exact_values),
        )
        plain_codes = self.encoder_.encode(training, equalities=False)
        codes = self.encoder_.code_equalities(plain_codes, training)
        n_rows, n_sub = codes.shape
        embedding_dim = int(self.embedding_dim or 8)
        hidden_size = int(self.hidden_size or 64)
        batch_size = int(self.batch_size or int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 50)), 32, 512)))
        log.info(
            "argn: %d columns -> %d sub-columns (%d codes); embedding %d, hidden %d, batch %d",
            len(training.columns), n_sub, int(self.encoder_.cardinalities.sum()),
            embedding_dim, hidden_size, batch_size,
        )
        device = self._torch_device()
        torch_seed = int(rng.integers(0, 2**63 - 1))
        generator = torch.Generator().manual_seed(torch_seed)
        with torch_threads(self._threads()):
            self.network_ = ARGNNetwork(
                self.encoder_.cardinalities.tolist(),
                embedding_dim=embedding_dim,
                hidden_size=hidden_size,
                generator=generator,
                code_positions=self.encoder_.code_positions(),
            )
            settings = TrainingSettings(
                max_epochs=int(self.max_epochs),
                max_seconds=float(self.max_training_seconds),
                batch_size=batch_size,
                learning_rate=float(self.learning_rate),
                weight_decay=float(self.weight_decay),
                validation_share=float(self.validation_share),
                patience=int(self.patience),
                canonical_share=float(self.canonical_order_share),
                order_groups=4,
                ema_decay=float(self.ema_decay),
                dropout=float(self.dropout),
                input_sparsity=float(self.input_sparsity),
                equalities=self.encoder_.equalities(),
                show_progress=show_progress_default() if self.show_progress is None else bool(self.show_progress),
                device=device,
            )
            report = train(self.network_, codes, self.encoder_.column_of_sub, settings, rng, plain_codes=plain_codes)
        self.training_report_ = {
            "epochs": report.epochs,
            "best_epoch": report.best_epoch,
            "best_validation_loss": report.best_validation_loss,
            "stopped_because": report.stopped_because,
            "seconds": report.seconds,
            "history": report.history,
        }

    # -- sampling ------------------------------------------------------------------------
    def _sample(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame:
        encoder = self.encoder_
        known_codes = known = None
        if request.conditions is not None and request.fixed is not None:
            columns = [c for c in encoder.names if c in request.conditions.columns]
            if columns:
                conditions = request.conditions[columns]
                known = np.zeros((request.n_rows, len(encoder.names)), dtype=bool)
                for c, column in enumerate(encoder.encoders):
                    if column.name not in request.fixed.columns:
                        continue
                    fixed = request.fixed[column.name].to_numpy(dtype=bool)
                    # A fixed "missing" can only be shown to the model if it knows a missing code.
                    representable = conditions[column.name].notna().to_numpy() | column.has_missing
                    known[:, c] = fixed & representable
                known_codes = encoder.encode(conditions, known=known)
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        with torch_threads(self._threads()):
            codes = sample_codes(
                self.network_,
                encoder,
                request.n_rows,
                known_codes=known_codes,
                known=known,
                impute=request.impute,
                temperature=request.temperature,
                generator=generator,
            )
        return encoder.decode(codes, rng)

    # -- persistence ---------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder_.to_state(),
            "network": {"config": self.network_.config(), "arrays": self.network_.numpy_state()},
            "training_report": self.training_report_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.encoder_ = TableEncoder.from_state(state["encoder"])
        network = state["network"]
        self.network_ = ARGNNetwork.from_numpy_state(network["config"], network["arrays"])
        self.network_.eval()
        self.training_report_ = state["training_report"]
